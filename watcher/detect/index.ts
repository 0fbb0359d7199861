// The detect stage: every parsed line updates the request window, the per-pool
// attempt windows, the serving pool and the conditions; the policy reads the
// conditions as views (view.ts) and decides what Slack hears.
//
// Conditions, one incident each (see docs/watcher.md):
//   failover:<primary>  the primary fails and the backup serves
//   degraded:<primary>  some replicas of the primary fail, its others serve
//   outage              no pool could answer: the backup failed too
//   error_rate          the window's error share over the threshold
import { poolName } from '../../common/config.js';
import type { AccessRecord } from '../types.js';
import { is5xx, PoolWindow, type Attempt, type PoolCounts } from './attempts.js';
import { Attribution } from './attribution.js';
import type { DegradedState, FailoverState } from './conditions.js';
import { ErrorRateState } from './errorRate.js';
import { ErrorWindow } from './errorWindow.js';
import { DegradedIncident, FailoverIncident, OutageIncident } from './incidents.js';
import type { DetectorOptions, DetectorState, PlannedSwitchNotice } from './options.js';
import { PoolFlipTracker, type PoolFlip } from './poolFlip.js';
import { boundedRelease, boundedWindow, sampleOf, type ConditionView, type ViewContext, type WindowStats } from './view.js';

export type { Attempt, PoolCounts } from './attempts.js';
export { Attribution, type PoolRoles } from './attribution.js';
export type { DetectorOptions, DetectorState, PlannedSwitchNotice } from './options.js';
export type { ConditionView, RequestSample, WindowStats } from './view.js';
export { conditionViewSchema, requestSampleSchema, windowStatsSchema } from './view.js';
export { DEGRADED_MIN_HOLD_MS, FLAP_FLIPS, FLAP_WINDOW_MS, FLIPS_KEPT, NGINX_FAIL_TIMEOUT_MS, REPLICAS_KEPT } from './conditions.js';

const POOLS: readonly string[] = poolName.options;
type Pool = (typeof poolName.options)[number];

/** The stack's own string for a pool's name, or the name itself for a pool it does not run. */
const canonical = (pool: string): string => POOLS.find((p) => p === pool) ?? pool;

/** One pool's attempt window and the incidents about it, found together by the pool of a line. */
interface PoolEntry {
  /** The pool's name as the stack spells it: one string for every line of the pool. */
  readonly pool: string;
  readonly window: PoolWindow;
  failover: FailoverIncident | undefined;
  degraded: DegradedIncident | undefined;
}

export class Detector {
  /** Which pool each attempt of a line went to: shared with the metrics, so a line is attributed once. */
  readonly attribution: Attribution;
  private readonly window: ErrorWindow;
  private readonly flips: PoolFlipTracker;
  private readonly errorRate: ErrorRateState;
  private readonly pools = new Map<string, PoolEntry>();
  // Also by kind, in the order they were created: the order of the views.
  private readonly failover = new Map<string, FailoverIncident>();
  private readonly degraded = new Map<string, DegradedIncident>();
  private readonly outage: OutageIncident;
  private readonly opts: DetectorOptions;
  private readonly notices: PlannedSwitchNotice[] = [];
  // The pool of the last line served by a known pool, and its entry: nearly
  // every line repeats it, and comparing two short strings is far cheaper
  // than a Map lookup, which hashes the line's freshly parsed pool name.
  private lastPool: string | undefined;
  private lastEntry: PoolEntry | undefined;

  constructor(opts: DetectorOptions) {
    this.opts = opts;
    this.window = new ErrorWindow(opts.windowSize);
    this.errorRate = new ErrorRateState(opts.thresholdPercent, opts.restore?.errorRate);
    const before = opts.restore?.primaryPool;
    // The pools by the stack's own strings, which the lines' pools are compared with.
    const activePool = canonical(opts.activePool);
    const restore = opts.restore;
    this.flips = new PoolFlipTracker(
      restore === undefined
        ? { ...opts, activePool }
        : { ...opts, activePool, restore: { ...restore, servingPool: canonical(restore.servingPool), primaryPool: activePool } },
    );
    this.attribution = new Attribution(POOLS, this.flips);
    this.outage = new OutageIncident(opts.recoveryHoldMs, opts.restore?.outage);
    for (const pool of POOLS) {
      this.pools.set(pool, { pool, window: new PoolWindow(opts.poolWindowSize), failover: undefined, degraded: undefined });
      const saved = opts.restore?.failover[pool as Pool];
      if (saved !== undefined) this.failoverOf(pool, saved);
      const degraded = opts.restore?.degraded?.[pool as Pool];
      if (degraded !== undefined) this.degradedOf(pool, degraded);
    }
    // A switch while the watcher was down (a new Kubernetes pod, a switch made elsewhere): moot now.
    if (before !== undefined && before !== opts.activePool) this.resolveOf(before, opts.clock());
  }

  /** True when a condition changed or a notice is waiting: the moment to ask the policy. */
  observe(record: AccessRecord): boolean {
    this.attribution.forget();
    const flags = this.window.push(record);
    let changed = false;
    // A good request that left the window's counts as they were leaves its
    // rates as they were: the error rate has nothing new to judge.
    if (flags !== 0 || this.window.moved) {
      changed = this.errorRate.update(this.window, flags, this.opts.clock);
      if (changed && this.errorRate.active) {
        const attempts = record.upstreamStatuses.length === 0 ? undefined : this.attribution.of(record);
        this.errorRate.lastFailure = sampleOf(record, attempts);
      }
    }
    const pool = record.pool;
    // The pool's entry, found once: from here on the line's pool is the
    // entry's own name, which compares with the tracker's by identity rather
    // than character by character as the freshly parsed name would.
    const entry = pool === undefined ? undefined : this.entryOf(pool);
    const statuses = record.upstreamStatuses;
    if (flags === 0 && statuses.length === 1 && pool !== undefined) {
      // Nearly every line: one good attempt, by the pool that served it.
      entry?.window.push(false);
    } else if (statuses.length > 0) {
      changed = this.attempts(record) || changed;
    }
    // A stray pool name serves nothing this stack runs.
    if (record.status < 500 && entry !== undefined) changed = this.served(record, entry) || changed;
    return changed;
  }

  /** Resolves conditions whose hold has run out; true when one did. */
  tick(now: number): boolean {
    let changed = false;
    for (const condition of this.failover.values()) changed = condition.tick(now) || changed;
    for (const condition of this.degraded.values()) changed = condition.tick(now) || changed;
    // When an outage ends with the backup serving, the primary may only be
    // sitting out Nginx's fail_timeout: its failover opens at the next failed
    // probe of it, not here.
    return this.outage.tick(now) || changed;
  }

  /** Every condition that has ever opened, active or not, as of `now`. */
  conditions(now: number): ConditionView[] {
    const ctx: ViewContext = {
      now,
      primaryPool: this.flips.primaryPool as Pool,
      servingPool: this.flips.servingPool as Pool,
      releases: this.releases(),
      window: boundedWindow(this.window.stats()),
      thresholdPercent: this.opts.thresholdPercent,
    };
    const views: (ConditionView | undefined)[] = [];
    for (const condition of this.failover.values()) views.push(condition.view(ctx));
    for (const condition of this.degraded.values()) views.push(condition.view(ctx));
    views.push(this.outage.view(ctx), this.errorRate.view(ctx, this.opts.recoveryHoldMs));
    return views.filter((view) => view !== undefined);
  }

  /** Planned switches seen since the last call, oldest first. */
  takeNotices(): PlannedSwitchNotice[] {
    return this.notices.splice(0);
  }

  get servingPool(): string {
    return this.flips.servingPool;
  }

  get primaryPool(): string {
    return this.flips.primaryPool;
  }

  state(): DetectorState {
    const failover: DetectorState['failover'] = {};
    for (const [pool, condition] of this.failover) failover[pool as Pool] = condition.snapshot();
    const degraded: DetectorState['degraded'] = {};
    for (const [pool, condition] of this.degraded) degraded[pool as Pool] = condition.snapshot();
    return { ...this.flips.state(), failover, degraded, outage: this.outage.snapshot(), errorRate: this.errorRate.snapshot() };
  }

  /** Per pool: failed attempts among its last attempts, and since the start. */
  poolShares(): Record<string, PoolCounts> {
    const shares: Record<string, PoolCounts> = {};
    for (const [pool, entry] of this.pools) shares[pool] = entry.window.counts();
    return shares;
  }

  windowStats(): WindowStats {
    return this.window.stats();
  }

  /** The release each pool last reported in X-Release-Id, cut to a bound. */
  releases(): ConditionView['releases'] {
    const releases: ConditionView['releases'] = {};
    for (const pool of POOLS) {
      const release = this.flips.releaseOf(pool);
      if (release !== undefined) releases[pool as Pool] = boundedRelease(release);
    }
    return releases;
  }

  /** The entry of a pool this stack runs; undefined for a stray name, which is never remembered. */
  private entryOf(pool: string): PoolEntry | undefined {
    if (pool === this.lastPool) return this.lastEntry;
    const entry = this.pools.get(pool);
    if (entry !== undefined) {
      this.lastPool = pool;
      this.lastEntry = entry;
    }
    return entry;
  }

  // The rare line with a failed or retried attempt. Its attempts are counted
  // in the pools' windows after it is judged, so an incident it opens counts
  // them among the pool's attempts since it opened.
  private attempts(record: AccessRecord): boolean {
    const attempts = this.attribution.of(record);
    const changed = this.judge(record, attempts);
    for (const attempt of attempts) this.pools.get(attempt.pool)?.window.push(attempt.failed);
    return changed;
  }

  // While no pool answers, the primary's failures belong to the outage, not
  // to a failover: there is no backup serving to fail over to.
  private judge(record: AccessRecord, attempts: readonly Attempt[]): boolean {
    const primary = this.flips.primaryPool;
    let primaryFailed = false;
    let backupFailed = false;
    for (const attempt of attempts) {
      if (attempt.failed && attempt.pool === primary) primaryFailed = true;
      else if (attempt.failed) backupFailed = true;
    }
    if (!primaryFailed && !backupFailed) return false;
    const now = this.opts.clock();
    const last = attempts[attempts.length - 1];
    if (primaryFailed && !backupFailed && record.status < 500 && last?.pool === primary && !last.failed) {
      // Another replica of the primary answered: the pool is degraded, not failed over.
      const degraded = this.degradedOf(primary);
      degraded.lastFailure = sampleOf(record, attempts);
      return degraded.failOn(
        now,
        attempts.filter((a) => a.failed).map((a) => a.addr),
      );
    }
    let changed = false;
    if (record.status >= 500 && backupFailed) {
      this.outage.lastFailure = sampleOf(record, attempts);
      changed = this.outage.fail(now);
    }
    if (primaryFailed) {
      const failover = this.failoverOf(primary);
      failover.lastFailure = sampleOf(record, attempts);
      // The primary's replicas failed: an open degraded pool's hold starts over, whichever incident takes the failure.
      const degraded = this.degraded.get(primary);
      if (degraded?.active) degraded.count();
      // It fails over only when the backup answered; an unretried request
      // (a POST) reaches the client as a 5xx and the pool change comes with
      // the next request, which Nginx sends to the backup.
      if (this.outage.active || record.status >= 500) failover.count();
      else changed = failover.fail(now) || changed;
    }
    return changed;
  }

  // A line some pool answered without a 5xx reaching the client.
  private served(record: AccessRecord, entry: PoolEntry): boolean {
    if (this.outage.active) this.outage.served(this.opts.clock());
    const pool = entry.pool;
    const primary = this.flips.primaryPool;
    const flip = this.flips.observe(record, pool);
    if (flip === undefined) {
      if (pool !== primary) return false;
      const degraded = entry.degraded;
      // Only a request with no failed attempt shows the pool steady again.
      if (degraded?.active && !degraded.recovering && !record.upstreamStatuses.some(is5xx)) degraded.served(this.opts.clock());
      const condition = entry.failover;
      // Back on the primary without a change of serving pool (a failure that
      // Nginx did not fail over, such as an unretried POST): start the hold.
      if (condition?.active && !condition.recovering) condition.served(this.opts.clock());
      return false;
    }
    this.flipped(flip, primary, this.opts.clock());
    return true;
  }

  private flipped(flip: PoolFlip, primary: string, now: number): void {
    if (flip.kind === 'planned_switch') {
      // The old primary's failover is moot: it is now the backup.
      this.resolveOf(primary, now);
      const notice: PlannedSwitchNotice = {
        kind: 'planned_switch',
        message: 'notice',
        at: now,
        from: flip.from as Pool,
        to: flip.to as Pool,
      };
      if (flip.fromRelease !== undefined) notice.fromRelease = flip.fromRelease;
      if (flip.toRelease !== undefined) notice.toRelease = flip.toRelease;
      this.notices.push(notice);
      return;
    }
    // While no pool answers, a change of serving pool is the outage ending, not a failover.
    if (flip.kind === 'failover' && this.outage.active) return;
    const condition = this.failoverOf(primary);
    if (flip.kind === 'failover') condition.interrupt(now);
    else condition.served(now);
    if (condition.active) condition.flipped(now);
  }

  /** Ends a pool's open incidents without a hold: it is no longer the primary. */
  private resolveOf(pool: string, now: number): void {
    for (const old of [this.failover.get(pool), this.degraded.get(pool)]) if (old?.active) old.resolve(now);
  }

  private degradedOf(pool: string, restore?: DegradedState): DegradedIncident {
    let incident = this.degraded.get(pool);
    if (incident === undefined) {
      const entry = this.pools.get(pool);
      incident = new DegradedIncident(pool as Pool, entry?.window ?? this.noWindow(), this.opts.recoveryHoldMs, restore);
      this.degraded.set(pool, incident);
      if (entry !== undefined) entry.degraded = incident;
    }
    return incident;
  }

  private failoverOf(pool: string, restore?: FailoverState): FailoverIncident {
    let incident = this.failover.get(pool);
    if (incident === undefined) {
      const entry = this.pools.get(pool);
      incident = new FailoverIncident(pool as Pool, entry?.window ?? this.noWindow(), this.opts.recoveryHoldMs, restore);
      this.failover.set(pool, incident);
      if (entry !== undefined) entry.failover = incident;
    }
    return incident;
  }

  /** For a pool this stack does not run: no attempt is ever counted for it, so its share stays 0 of 0. */
  private noWindow(): PoolWindow {
    return new PoolWindow(this.opts.poolWindowSize);
  }
}
