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
import type { AccessRecord, Clock, PlannedSwitch } from '../types.js';
import { incidentKey } from '../vocabulary.js';
import { AttemptAttributor, is5xx, PoolWindow, type PoolCounts } from './attempts.js';
import { DegradedCondition, FailoverCondition, HeldCondition, type DegradedState, type FailoverState, type HeldState } from './conditions.js';
import { ErrorRateState, type ErrorRateSnapshot } from './errorRate.js';
import { ErrorWindow } from './errorWindow.js';
import { PoolFlipTracker, type PoolFlip, type PoolFlipState } from './poolFlip.js';
import { boundedRelease, sampleOf, type ConditionView, type RequestSample, type WindowStats } from './view.js';

export type { PoolCounts } from './attempts.js';
export type { ConditionView, RequestSample, WindowStats } from './view.js';
export { conditionViewSchema, requestSampleSchema, windowStatsSchema } from './view.js';
export { DEGRADED_MIN_HOLD_MS, FLAP_FLIPS, FLAP_WINDOW_MS, FLIPS_KEPT, NGINX_FAIL_TIMEOUT_MS, REPLICAS_KEPT } from './conditions.js';

const POOLS: readonly string[] = poolName.options;
type Pool = (typeof poolName.options)[number];

export interface DetectorOptions {
  activePool: string;
  windowSize: number;
  /** Attempts per pool in the failure-share window. */
  poolWindowSize: number;
  thresholdPercent: number;
  /** RECOVERY_HOLD_SEC in ms: steady service needed before a condition resolves. */
  recoveryHoldMs: number;
  clock: Clock;
  plannedSwitch: () => PlannedSwitch | undefined;
  /** Nginx's published primary: see PoolFlipOptions. */
  publishedPrimary?: () => string | undefined;
  /**
   * A previous run's state (watcher/state/checkpoint.ts); the windows start
   * empty. Its primary gives way to `activePool`: when they differ, the pools
   * were switched while the watcher was down, and the old primary's incidents
   * are closed as at a planned switch.
   */
  restore?: DetectorState;
}

/** What a restart must remember so it neither repeats an alert nor misses one. */
export interface DetectorState extends PoolFlipState {
  failover: Partial<Record<Pool, FailoverState>>;
  degraded?: Partial<Record<Pool, DegradedState>>;
  outage: HeldState;
  errorRate: ErrorRateSnapshot;
}

/** A planned switch seen in the log: a message, not an incident, so it comes as one the policy can pass on. */
export interface PlannedSwitchNotice {
  kind: 'planned_switch';
  message: 'notice';
  at: number;
  from: Pool;
  to: Pool;
  fromRelease?: string;
  toRelease?: string;
}

export class Detector {
  private readonly window: ErrorWindow;
  private readonly flips: PoolFlipTracker;
  private readonly errorRate: ErrorRateState;
  private readonly poolWindows = new Map<string, PoolWindow>();
  private readonly attributor = new AttemptAttributor(POOLS);
  private readonly failover = new Map<string, FailoverCondition>();
  private readonly degraded = new Map<string, DegradedCondition>();
  private readonly outage: HeldCondition;
  private readonly opts: DetectorOptions;
  private readonly lastFailure = new Map<string, RequestSample>();
  private readonly notices: PlannedSwitchNotice[] = [];
  // The pool of the last healthy line, and its window: nearly every line
  // repeats it, and comparing two short strings is far cheaper than a Map
  // lookup, which hashes the line's freshly parsed pool name every time.
  private lastPool: string | undefined;
  private lastPoolWindow: PoolWindow | undefined;

  constructor(opts: DetectorOptions) {
    this.opts = opts;
    this.window = new ErrorWindow(opts.windowSize);
    this.errorRate = new ErrorRateState(opts.thresholdPercent, opts.restore?.errorRate);
    const before = opts.restore?.primaryPool;
    this.flips = new PoolFlipTracker(before === undefined ? opts : { ...opts, restore: { ...opts.restore!, primaryPool: opts.activePool } });
    this.outage = new HeldCondition(opts.recoveryHoldMs, opts.restore?.outage);
    for (const pool of POOLS) {
      this.poolWindows.set(pool, new PoolWindow(opts.poolWindowSize));
      const saved = opts.restore?.failover[pool as Pool];
      if (saved !== undefined) this.failover.set(pool, new FailoverCondition(opts.recoveryHoldMs, saved));
      const degraded = opts.restore?.degraded?.[pool as Pool];
      if (degraded !== undefined) this.degraded.set(pool, new DegradedCondition(opts.recoveryHoldMs, degraded));
    }
    // A switch while the watcher was down (a new Kubernetes pod, a switch made elsewhere): moot now.
    if (before !== undefined && before !== opts.activePool) {
      for (const old of [this.failover.get(before), this.degraded.get(before)]) if (old?.active) old.resolve(opts.clock());
    }
  }

  /** True when a condition changed or a notice is waiting: the moment to ask the policy. */
  observe(record: AccessRecord): boolean {
    const flags = this.window.push(record);
    let changed = this.errorRate.update(this.window, flags, this.opts.clock);
    if (changed && this.errorRate.active) this.lastFailure.set('error_rate', sampleOf(record));
    const pool = record.pool;
    const statuses = record.upstreamStatuses;
    if (flags === 0 && statuses.length === 1 && pool !== undefined) {
      // Nearly every line: one good attempt, by the pool that served it.
      this.healthyPoolWindow(pool)?.push(false);
    } else if (statuses.length > 0) {
      changed = this.attempts(record) || changed;
    }
    if (record.status < 500 && pool !== undefined) changed = this.served(record, pool) || changed;
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
    const views: ConditionView[] = [];
    for (const [pool, condition] of this.failover) {
      // Failures counted toward another incident (an outage, an unretried POST) create the condition without opening it.
      if (condition.since === 0) continue;
      const view = this.view(now, incidentKey('failover', pool), 'failover', condition, condition.currentLevel(now));
      view.pool = pool as Pool;
      view.flips = condition.totalFlips;
      view.recentFlips = condition.flipsRecently(now);
      view.share = this.poolWindows.get(pool)?.share() ?? { failed: 0, attempts: 0 };
      views.push(view);
    }
    for (const [pool, condition] of this.degraded) {
      const view = this.view(now, incidentKey('degraded', pool), 'degraded', condition, condition.level('masked'));
      view.pool = pool as Pool;
      view.share = this.poolWindows.get(pool)?.share() ?? { failed: 0, attempts: 0 };
      view.replicas = condition.failing().map(({ addr, failures }) => ({ addr, failures }));
      views.push(view);
    }
    if (this.outage.since > 0) views.push(this.view(now, 'outage', 'outage', this.outage, this.outage.level('down')));
    if (this.errorRate.since > 0) {
      const level = !this.errorRate.active ? 'ok' : this.errorRate.clientVisible ? 'client_visible' : 'masked';
      views.push(this.view(now, 'error_rate', 'error_rate', this.errorRate, level));
    }
    return views;
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
    for (const [pool, window] of this.poolWindows) shares[pool] = window.counts();
    return shares;
  }

  windowStats(): WindowStats {
    return this.window.stats();
  }

  private healthyPoolWindow(pool: string): PoolWindow | undefined {
    if (pool === this.lastPool) return this.lastPoolWindow;
    // Only pools this stack runs have a window, so lastPool is always a known pool.
    const window = this.poolWindows.get(pool);
    if (window !== undefined) {
      this.lastPool = pool;
      this.lastPoolWindow = window;
    }
    return window;
  }

  // The rare line with a failed or retried attempt. While no pool answers,
  // the primary's failures belong to the outage, not to a failover: there is
  // no backup serving to fail over to.
  private attempts(record: AccessRecord): boolean {
    const primary = this.flips.primaryPool;
    const backup = POOLS.find((p) => p !== primary) ?? primary;
    const attempts = this.attributor.attribute(record, primary, backup, this.flips.servingPool !== primary);
    let primaryFailed = false;
    let backupFailed = false;
    for (const attempt of attempts) {
      this.poolWindows.get(attempt.pool)?.push(attempt.failed);
      if (attempt.failed && attempt.pool === primary) primaryFailed = true;
      else if (attempt.failed) backupFailed = true;
    }
    if (!primaryFailed && !backupFailed) return false;
    const now = this.opts.clock();
    const last = attempts[attempts.length - 1];
    if (primaryFailed && !backupFailed && record.status < 500 && last?.pool === primary && !last.failed) {
      // Another replica of the primary answered: the pool is degraded, not failed over.
      this.lastFailure.set(incidentKey('degraded', primary), sampleOf(record));
      const failedOn = attempts.filter((a) => a.failed).map((a) => a.addr);
      return this.degradedOf(primary).failOn(now, failedOn);
    }
    let changed = false;
    if (record.status >= 500 && backupFailed) {
      this.lastFailure.set('outage', sampleOf(record));
      changed = this.outage.fail(now);
    }
    if (primaryFailed) {
      this.lastFailure.set(incidentKey('failover', primary), sampleOf(record));
      // The primary's replicas failed: an open degraded pool's hold starts over, whichever incident takes the failure.
      const degraded = this.degraded.get(primary);
      if (degraded?.active) degraded.count();
      const failover = this.failoverOf(primary);
      // It fails over only when the backup answered; an unretried request
      // (a POST) reaches the client as a 5xx and the pool change comes with
      // the next request, which Nginx sends to the backup.
      if (this.outage.active || record.status >= 500) failover.count();
      else changed = failover.fail(now) || changed;
    }
    return changed;
  }

  // A line some pool answered without a 5xx reaching the client.
  private served(record: AccessRecord, pool: string): boolean {
    // The pool of the last healthy line is known; only another needs the check.
    if (pool !== this.lastPool && this.attributor.known(pool) === undefined) return false;
    if (this.outage.active) this.outage.served(this.opts.clock());
    const primary = this.flips.primaryPool;
    const flip = this.flips.observe(record);
    if (flip === undefined) {
      if (pool !== primary) return false;
      const degraded = this.degraded.get(primary);
      // Only a request with no failed attempt shows the pool steady again.
      if (degraded?.active && !degraded.recovering && !record.upstreamStatuses.some(is5xx)) degraded.served(this.opts.clock());
      const condition = this.failover.get(primary);
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
      for (const old of [this.failover.get(primary), this.degraded.get(primary)]) if (old?.active) old.resolve(now);
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

  private degradedOf(pool: string): DegradedCondition {
    return entryOf(this.degraded, pool, () => new DegradedCondition(this.opts.recoveryHoldMs));
  }

  private failoverOf(pool: string): FailoverCondition {
    return entryOf(this.failover, pool, () => new FailoverCondition(this.opts.recoveryHoldMs));
  }

  private view(
    now: number,
    key: string,
    kind: ConditionView['kind'],
    c: HeldCondition | ErrorRateState,
    level: ConditionView['level'],
  ): ConditionView {
    const window = this.window.stats();
    const top = window.topFailingUpstream;
    if (top !== undefined) window.topFailingUpstream = { addr: top.addr.slice(0, 100), failures: top.failures };
    const view: ConditionView = {
      key,
      kind,
      active: c.active,
      level,
      since: c.since,
      at: now,
      primaryPool: this.flips.primaryPool as Pool,
      servingPool: this.flips.servingPool as Pool,
      releases: this.releases(),
      failures: c.failures,
      holdMs: c instanceof HeldCondition ? c.hold : this.opts.recoveryHoldMs,
      window,
      thresholdPercent: this.opts.thresholdPercent,
    };
    const steady = c instanceof HeldCondition ? c.steadyFor(now) : undefined;
    if (steady !== undefined) view.steadyForMs = steady;
    const sample = this.lastFailure.get(key);
    if (sample !== undefined) view.lastFailure = sample;
    return view;
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
}

/** The map's entry for `key`, made and added the first time. */
function entryOf<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
