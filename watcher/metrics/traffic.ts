// Traffic counted from the access log, per pool, in plain fields (see
// histogram.ts for why). Work in progress: the types below are the contract.
import { Histogram } from './histogram.js';

/** Per pool, since the watcher started: what /metrics exports and the page's series difference. */
export interface PoolTotals {
  /** Requests whose final answer came from this pool (X-App-Pool). */
  requests: number;
  /** Upstream attempts attributed to this pool, and those that failed (5xx, timeout, refused). */
  attempts: number;
  failedAttempts: number;
  /** Nginx's request_time of this pool's requests, in seconds. */
  requestDuration: Histogram;
}
