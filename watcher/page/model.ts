// What the status page shows, as plain data: the `status` event (pushed at
// once on every change the pipeline reports) and the `series` event (the last
// 15 minutes per pool, pushed as each step closes). The page renders these and
// nothing else, so a test can check the data without a browser.
import type { HistoryEntry } from '../history.js';
import type { RecentAlert } from '../operator/stats.js';
import type { IncidentKind, Level } from '../vocabulary.js';

/** Per pool, right now. */
export interface PoolStatus {
  pool: string;
  /** Nginx's primary (as published by Nginx, else ACTIVE_POOL). */
  primary: boolean;
  /** Answered the latest request. */
  serving: boolean;
  /** `failing`: a failover away from it is open; `ok`: none is; `idle`: no attempt seen yet. */
  health: 'ok' | 'failing' | 'idle';
  /** The release it last reported in X-Release-Id. */
  release?: string;
  /** Failed attempts among its last POOL_WINDOW_SIZE attempts. */
  failed: number;
  attempts: number;
}

export interface OpenIncident {
  id: string;
  kind: IncidentKind;
  /** See incidentKey() in the vocabulary. */
  key: string;
  /** The pool whose condition it is, for a failover or a degraded pool. */
  pool?: string;
  /** The level Slack was last told; undefined until it was told anything. */
  level?: Level;
  /** Epoch ms. */
  openedAt: number;
  /** Its Slack message, with a bot token (an https permalink). */
  slackUrl?: string;
}

export interface PageStatus {
  /** Epoch ms of this snapshot. */
  at: number;
  servingPool: string;
  primaryPool: string;
  maintenance: boolean;
  /** `dry-run`, or the webhook's host: where alerts go. */
  delivery: string;
  pools: PoolStatus[];
  incidents: OpenIncident[];
  /** The last messages the policy decided about, oldest first (as /stats). */
  recentAlerts: RecentAlert[];
  /** The last entries of the audit trail (releases, switches, chaos, maintenance), oldest first. */
  history: HistoryEntry[];
}

/** One pool's charts: one value per step, oldest first; null where no request was seen in that step. */
export interface PoolSeries {
  /** Requests per second (0 when none). */
  rps: number[];
  /** Failed attempts / attempts, 0..1. */
  failedShare: (number | null)[];
  /** Request duration quantiles, in milliseconds, interpolated within histogram buckets. */
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
}

export interface PageSeries {
  stepSec: number;
  /** Epoch ms at the end of the last step: step i ends at end - (n-1-i) * stepSec * 1000. */
  end: number;
  pools: Record<string, PoolSeries>;
}
