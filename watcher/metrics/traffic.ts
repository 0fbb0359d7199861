// Traffic counted from the access log, per pool, in plain fields: a few
// increments per line, read by prom-client only when scraped (exporter.ts)
// and differenced over time by the status page (page/series.ts).
import type { Attribution, PoolCounts } from '../detect/index.js';
import type { AccessRecord } from '../types.js';
import { Histogram } from './histogram.js';

/** `pool` label values: the pools, and `none` for a request no known pool answered (Nginx's own 503). */
export const NO_POOL = 'none';
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Per pool, since the watcher started: what /metrics exports and the page's series difference. */
export interface PoolTotals {
  /** Requests whose final answer came from this pool (X-App-Pool). */
  requests: number;
  /** Upstream attempts attributed to this pool, and those that failed (5xx, timeout, refused). */
  attempts: number;
  failedAttempts: number;
  /** Nginx's request_time of this pool's requests, in ms. */
  requestDuration: Histogram;
}

export class PoolTraffic {
  /** Requests by status class, indexed as STATUS_CLASSES. */
  readonly byClass = new Float64Array(STATUS_CLASSES.length);
  readonly requestDuration = new Histogram();
  /** Each upstream attempt's upstream_response_time. */
  readonly upstreamDuration = new Histogram();

  requests(): number {
    let n = 0;
    for (const count of this.byClass) n += count;
    return n;
  }
}

export interface TrafficOptions {
  pools: readonly string[];
  /**
   * The detector's attribution (`Detector.attribution`), for the pool each
   * attempt of a retried request went to: one attribution a line, read here
   * after the detector made it, so both count an attempt for the same pool.
   */
  attribution: Pick<Attribution, 'of'>;
}

export class TrafficMetrics {
  readonly byPool = new Map<string, PoolTraffic>();
  private readonly none = new PoolTraffic();
  // As in the detector: nearly every line repeats the last pool, and comparing
  // two short strings is cheaper than hashing the fresh one for a Map lookup.
  private lastPool: string | undefined;
  private lastTraffic: PoolTraffic;

  constructor(private readonly opts: TrafficOptions) {
    for (const pool of opts.pools) this.byPool.set(pool, new PoolTraffic());
    this.byPool.set(NO_POOL, this.none);
    this.lastTraffic = this.none;
  }

  /** Each pool's totals, with its attempts as the detector counted them (`PipelineView.pools`). */
  totals(attempts: Record<string, PoolCounts>): Record<string, PoolTotals> {
    const totals: Record<string, PoolTotals> = {};
    for (const pool of this.opts.pools) {
      const traffic = this.byPool.get(pool) as PoolTraffic;
      const counted = attempts[pool]?.total;
      totals[pool] = {
        requests: traffic.requests(),
        attempts: counted?.attempts ?? 0,
        failedAttempts: counted?.failed ?? 0,
        requestDuration: traffic.requestDuration,
      };
    }
    return totals;
  }

  observe(record: AccessRecord): void {
    const pool = record.pool;
    const traffic = pool === this.lastPool ? this.lastTraffic : this.trafficOf(pool);
    // The parser guarantees 100..599.
    (traffic.byClass[((record.status / 100) | 0) - 1] as number)++;
    const requestMs = record.requestMs;
    if (requestMs !== undefined) traffic.requestDuration.observe(requestMs);
    const attempts = record.upstreamStatuses.length;
    if (attempts === 1 && traffic !== this.none) {
      const time = record.upstreamMs;
      if (time !== undefined) traffic.upstreamDuration.observe(time);
    } else if (attempts > 0) {
      this.attempts(record);
    }
  }

  private trafficOf(pool: string | undefined): PoolTraffic {
    const traffic = (pool === undefined || pool === NO_POOL ? undefined : this.byPool.get(pool)) ?? this.none;
    // A stray pool name would map to `none` forever: remember only real pools.
    if (traffic !== this.none) {
      this.lastPool = pool;
      this.lastTraffic = traffic;
    }
    return traffic;
  }

  // The rare line with several attempts, or none answered by a known pool:
  // each attempt's time goes to the pool it went to, as the detector counts it.
  private attempts(record: AccessRecord): void {
    const times = record.upstreamResponseMs;
    const attributed = this.opts.attribution.of(record);
    attributed.forEach((attempt, i) => {
      const time = times[i];
      if (time !== undefined) this.byPool.get(attempt.pool)?.upstreamDuration.observe(time);
    });
  }
}
