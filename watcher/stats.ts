// What the watcher has seen and done, for GET /stats and `make status`.
import type { SourceStatus } from './source.js';
import type { AlertKind, Clock, WindowStats } from './types.js';

export type AlertOutcome = 'sent' | 'heldBack' | 'suppressed' | 'failed' | 'dropped';

export interface PipelineView {
  servingPool: string;
  primaryPool: string;
  window: WindowStats;
  queued: number;
}

export interface StatsSnapshot {
  startedAt: string;
  uptimeSec: number;
  source: SourceStatus;
  lines: { read: number; malformed: number; droppedTooLong: number };
  servingPool: string;
  primaryPool: string;
  window: WindowStats;
  alerts: Record<AlertOutcome, number> & { queued: number };
  lastAlert: { kind: AlertKind; text: string; at: string } | undefined;
}

export class WatcherStats {
  readonly lines = { read: 0, malformed: 0, droppedTooLong: 0 };
  private readonly alerts: Record<AlertOutcome, number> = { sent: 0, heldBack: 0, suppressed: 0, failed: 0, dropped: 0 };
  private lastAlert: StatsSnapshot['lastAlert'];
  private readonly startedAt: number;

  constructor(private readonly clock: Clock) {
    this.startedAt = clock();
  }

  /** Every alert the detector raised, whatever the policy decides about it. */
  alertRaised(kind: AlertKind, text: string): void {
    this.lastAlert = { kind, text, at: new Date(this.clock()).toISOString() };
  }

  count(outcome: AlertOutcome): void {
    this.alerts[outcome]++;
  }

  snapshot(pipeline: PipelineView, source: SourceStatus): StatsSnapshot {
    const { queued, ...pools } = pipeline;
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSec: Math.round((this.clock() - this.startedAt) / 1000),
      source,
      lines: { ...this.lines },
      ...pools,
      alerts: { ...this.alerts, queued },
      lastAlert: this.lastAlert,
    };
  }
}
