// What the watcher has seen and done, for GET /stats and `make status`.
import type { SourceStatus } from '../source/index.js';
import type { AlertKind, Clock, WindowStats } from '../types.js';

export type AlertOutcome = 'sent' | 'heldBack' | 'suppressed' | 'failed' | 'dropped';
export type AlertDecision = 'send' | 'hold' | 'suppress';

// Enough to read a drill back (failover, recovery, error rate, resolved) without unbounded growth.
const RECENT_ALERTS = 20;

/** One raised alert and what became of it; times are ISO 8601. */
export interface RecentAlert {
  kind: AlertKind;
  text: string;
  raisedAt: string;
  decision: AlertDecision;
  /** For sent alerts, once delivery ended: sent, failed or dropped. */
  outcome?: 'sent' | 'failed' | 'dropped';
  settledAt?: string;
}

export interface PipelineView {
  servingPool: string;
  primaryPool: string;
  /** Effective maintenance mode: the control file, else MAINTENANCE_MODE. */
  maintenance: boolean;
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
  maintenance: boolean;
  window: WindowStats;
  alerts: Record<AlertOutcome, number> & { queued: number };
  lastAlert: { kind: AlertKind; text: string; at: string } | undefined;
  /** The last alerts raised, oldest first. */
  recentAlerts: RecentAlert[];
}

export class WatcherStats {
  readonly lines = { read: 0, malformed: 0, droppedTooLong: 0 };
  private readonly alerts: Record<AlertOutcome, number> = { sent: 0, heldBack: 0, suppressed: 0, failed: 0, dropped: 0 };
  private readonly recent: RecentAlert[] = [];
  private readonly startedAt: number;

  constructor(private readonly clock: Clock) {
    this.startedAt = clock();
  }

  /** Every alert the detector raised, whatever the policy decides about it; settle() the returned entry once sent. */
  alertRaised(kind: AlertKind, text: string, decision: AlertDecision): RecentAlert {
    const at = new Date(this.clock()).toISOString();
    const entry: RecentAlert = { kind, text, raisedAt: at, decision };
    this.recent.push(entry);
    if (this.recent.length > RECENT_ALERTS) this.recent.shift();
    if (decision === 'hold') this.count('heldBack');
    if (decision === 'suppress') this.count('suppressed');
    return entry;
  }

  /** The end of a sent alert's delivery. */
  settle(entry: RecentAlert, outcome: 'sent' | 'failed' | 'dropped'): void {
    entry.outcome = outcome;
    entry.settledAt = new Date(this.clock()).toISOString();
    this.count(outcome);
  }

  private count(outcome: AlertOutcome): void {
    this.alerts[outcome]++;
  }

  snapshot(pipeline: PipelineView, source: SourceStatus): StatsSnapshot {
    const { queued, ...pools } = pipeline;
    const last = this.recent.at(-1);
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSec: Math.round((this.clock() - this.startedAt) / 1000),
      source,
      lines: { ...this.lines },
      ...pools,
      alerts: { ...this.alerts, queued },
      lastAlert: last && { kind: last.kind, text: last.text, at: last.raisedAt },
      recentAlerts: this.recent.map((entry) => ({ ...entry })),
    };
  }
}
