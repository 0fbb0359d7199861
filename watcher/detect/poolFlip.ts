// Which pool is serving, and whether a change of it is a failover, a recovery
// or a switch someone announced. Nginx only sends traffic to the backup pool
// when the primary fails, so the first line served by another pool is the signal.
import type { AccessRecord, Clock, PlannedSwitch } from '../types.js';
import { is5xx } from './attempts.js';

export type FlipKind = 'failover' | 'recovery' | 'planned_switch';

export interface PoolFlip {
  kind: FlipKind;
  from: string;
  to: string;
  fromRelease: string | undefined;
  toRelease: string | undefined;
}

export interface PoolFlipOptions {
  activePool: string;
  clock: Clock;
  /** Reads the marker file: call only when a flip is seen. */
  plannedSwitch: () => PlannedSwitch | undefined;
  /**
   * The primary Nginx last published, which it does the moment it switches
   * (nginx/njs/serving-pool.js): read only when a flip is seen, or while the
   * backup serves, when no answer can show a switch.
   */
  publishedPrimary?: () => string | undefined;
  /** Where a previous run left off; wins over activePool. */
  restore?: PoolFlipState;
}

export interface PoolFlipState {
  servingPool: string;
  primaryPool: string;
  /** Planned-switch markers already used, newest last. */
  usedSwitchIds: string[];
}

// Markers are rare and expire within minutes; a few ids cover any restart.
const KEEP_SWITCH_IDS = 16;
// A request in flight at a switch finishes on the pool it began on, and its
// line (written when it ends) names the old pool after the switch. A clean
// answer from the pool switched away from is such a request when it ends
// within this long after the switch, plus however long it took itself.
export const OLD_WORKER_GRACE_MS = 2_000;

export class PoolFlipTracker {
  private serving: string;
  private primary: string;
  private readonly lastRelease = new Map<string, string>();
  // A marker lingers until it expires; consuming its id keeps a flip back and
  // forth within that time from being excused twice.
  private readonly usedSwitchIds = new Set<string>();
  // The pool the last planned switch left, and when.
  private switchedFrom: { pool: string; at: number } | undefined;
  // The pool and release of the last line that updated lastRelease: nearly every
  // line repeats them, and comparing two short strings is cheaper than a Map write.
  private seenPool: string | undefined;
  private seenRelease: string | undefined;
  private readonly clock: Clock;
  private readonly plannedSwitch: () => PlannedSwitch | undefined;
  private readonly publishedPrimary: () => string | undefined;

  constructor(opts: PoolFlipOptions) {
    this.serving = opts.restore?.servingPool ?? opts.activePool;
    this.primary = opts.restore?.primaryPool ?? opts.activePool;
    for (const id of opts.restore?.usedSwitchIds ?? []) this.usedSwitchIds.add(id);
    this.clock = opts.clock;
    this.plannedSwitch = opts.plannedSwitch;
    this.publishedPrimary = opts.publishedPrimary ?? (() => undefined);
  }

  state(): PoolFlipState {
    return {
      servingPool: this.serving,
      primaryPool: this.primary,
      usedSwitchIds: [...this.usedSwitchIds].slice(-KEEP_SWITCH_IDS),
    };
  }

  get servingPool(): string {
    return this.serving;
  }

  get primaryPool(): string {
    return this.primary;
  }

  /** The release the pool last reported in X-Release-Id. */
  releaseOf(pool: string): string | undefined {
    return this.lastRelease.get(pool);
  }

  /**
   * `pool` is the record's pool as the caller spells it (the detector passes
   * its own string for the pool, so the comparisons below are by identity).
   */
  observe(record: AccessRecord, pool: string | undefined = record.pool): PoolFlip | undefined {
    const to = pool;
    if (to === undefined) return undefined;
    const release = record.release;
    if (release !== undefined && (to !== this.seenPool || release !== this.seenRelease)) {
      this.lastRelease.set(to, release);
      this.seenPool = to;
      this.seenRelease = release;
    }
    // A 5xx reached the client: no pool served it, whatever header the last
    // failed attempt carried (see the outage condition).
    if (record.status >= 500) return undefined;
    if (to === this.serving) {
      // The common case, unless the backup serves (a failover) and an operator
      // makes it the primary (a rollback): then no answer changes pool, and
      // only Nginx's published primary says the switch happened. A marker
      // alone would not do: it is announced before the switch, which can fail.
      if (to === this.primary || record.upstreamStatuses.some(is5xx) || this.publishedPrimary() !== to) return undefined;
      this.consumePlannedSwitch(to, record);
      return this.plannedFlip(this.primary, to);
    }
    // A switch straight back is announced too: the marker wins over the grace.
    if (this.consumePlannedSwitch(to, record)) return this.plannedFlip(this.serving, to);
    // A switch nobody announced (the control file edited by hand, a ConfigMap
    // patched): Nginx says it made the new pool its primary, and a clean answer
    // from it is no failover.
    if (to !== this.primary && !record.upstreamStatuses.some(is5xx) && this.publishedPrimary() === to) {
      return this.plannedFlip(this.serving, to);
    }
    if (this.fromOldWorker(to, record)) return undefined;
    const from = this.serving;
    this.serving = to;
    return { kind: to === this.primary ? 'recovery' : 'failover', ...this.releases(from, to) };
  }

  private plannedFlip(from: string, to: string): PoolFlip {
    this.switchedFrom = { pool: this.primary, at: this.clock() };
    this.primary = to;
    this.serving = to;
    return { kind: 'planned_switch', ...this.releases(from, to) };
  }

  private releases(from: string, to: string) {
    return { from, to, fromRelease: this.lastRelease.get(from), toRelease: this.lastRelease.get(to) };
  }

  /** A clean answer from the pool just switched away from, by a request that began before the switch (give or take the grace). */
  private fromOldWorker(to: string, record: AccessRecord): boolean {
    const switched = this.switchedFrom;
    if (switched === undefined || switched.pool !== to || record.upstreamStatuses.some(is5xx)) return false;
    const tookMs = record.requestMs ?? 0;
    return this.clock() - switched.at <= OLD_WORKER_GRACE_MS + tookMs;
  }

  /** A flip whose request saw a failed attempt is a failure, whatever was announced. */
  private consumePlannedSwitch(to: string, record: AccessRecord): boolean {
    if (record.upstreamStatuses.some(is5xx)) return false;
    const marker = this.plannedSwitch();
    if (marker === undefined || marker.to !== to || marker.expiresAt <= this.clock()) return false;
    if (this.usedSwitchIds.has(marker.id)) return false;
    this.usedSwitchIds.add(marker.id);
    return true;
  }
}
