// What the watcher has seen and done, for GET /stats and `make status`.
import type { PoolCounts, WindowStats } from '../detect/index.js';
import type { HeartbeatStatus } from '../heartbeat/index.js';
import type { Incident } from '../policy/index.js';
import type { SourceStatus } from '../source/index.js';
import type { StatsResponse } from '../statsResponse.js';
import type { Clock } from '../types.js';
import { ALERT_KINDS, DECISIONS, OUTCOMES, type AlertKind, type Decision, type MessageKind, type Outcome } from '../vocabulary.js';

// Enough to read a drill back (failover, recovery, error rate, resolved) without unbounded growth.
const RECENT_ALERTS = 20;

/** One message the policy decided about, and what became of it; times are ISO 8601. */
export interface RecentAlert {
  kind: AlertKind;
  message: MessageKind;
  text: string;
  raisedAt: string;
  decision: Decision;
  /** For sent messages, once delivery ended. */
  outcome?: Outcome;
  settledAt?: string;
}

export interface PipelineView {
  servingPool: string;
  primaryPool: string;
  /** Effective maintenance mode: the control file, else MAINTENANCE_MODE. */
  maintenance: boolean;
  window: WindowStats;
  /** Per pool: failed attempts among its last attempts; `total` counts since the watcher started. */
  pools: Record<string, PoolCounts>;
  /** Incidents Slack has heard of (or will), with what it was last told. */
  incidents: Incident[];
  /** The release each pool last reported. */
  releases: Partial<Record<string, string>>;
  queued: number;
}

/** What /stats says about where things go, beside what the pipeline saw. */
export interface Outlets {
  /** The webhook's host, or `dry-run`: alerts are logged, not posted. */
  delivery: string;
  heartbeat: HeartbeatStatus;
}

export interface StatsSnapshot extends Omit<PipelineView, 'queued'>, Outlets {
  startedAt: string;
  uptimeSec: number;
  source: SourceStatus;
  lines: { read: number; malformed: number; droppedTooLong: number };
  alerts: Record<Decision | Outcome, number> & { queued: number };
  /** The last messages decided about, oldest first. */
  recentAlerts: RecentAlert[];
}

/** The answer fits the schema its clients parse it with: a field renamed or retyped here is a compile error. */
type Fits<T extends StatsResponse> = T;
export type CheckedStatsSnapshot = Fits<StatsSnapshot>;

const zeroCounts = () => Object.fromEntries([...DECISIONS, ...OUTCOMES].map((k) => [k, 0])) as Record<Decision | Outcome, number>;

export class WatcherStats {
  readonly lines = { read: 0, malformed: 0, droppedTooLong: 0 };
  private readonly alerts = zeroCounts();
  /** The same counts per alert kind, for /metrics. */
  readonly byKind = Object.fromEntries(ALERT_KINDS.map((kind) => [kind, zeroCounts()])) as Record<AlertKind, Record<Decision | Outcome, number>>;
  private readonly recent: RecentAlert[] = [];
  private readonly startedAt: number;

  constructor(private readonly clock: Clock) {
    this.startedAt = clock();
  }

  /** Every decision of the policy; settle() the returned entry once a sent message's delivery ends. */
  decided(kind: AlertKind, message: MessageKind, text: string, decision: Decision): RecentAlert {
    const entry: RecentAlert = { kind, message, text, raisedAt: new Date(this.clock()).toISOString(), decision };
    this.recent.push(entry);
    if (this.recent.length > RECENT_ALERTS) this.recent.shift();
    this.alerts[decision]++;
    this.byKind[kind][decision]++;
    return entry;
  }

  settle(entry: RecentAlert, outcome: Outcome): void {
    entry.outcome = outcome;
    entry.settledAt = new Date(this.clock()).toISOString();
    this.alerts[outcome]++;
    this.byKind[entry.kind][outcome]++;
  }

  /** The last messages decided about, oldest first. */
  recentAlerts(): RecentAlert[] {
    return this.recent.map((entry) => ({ ...entry }));
  }

  snapshot(pipeline: PipelineView, source: SourceStatus, outlets: Outlets): StatsSnapshot {
    const { queued, ...rest } = pipeline;
    return {
      ...outlets,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSec: Math.round((this.clock() - this.startedAt) / 1000),
      source,
      lines: { ...this.lines },
      ...rest,
      alerts: { ...this.alerts, queued },
      recentAlerts: this.recentAlerts(),
    };
  }
}
