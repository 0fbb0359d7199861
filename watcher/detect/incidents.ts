// The conditions as the detector holds them: each lifetime (conditions.ts)
// with what it is about (its key, its pool and that pool's attempts), the
// request that last showed it, and its own view. The detector asks each for
// its view and its snapshot; none needs to know the kind of another.
import type { Level } from '../vocabulary.js';
import { incidentKey } from '../vocabulary.js';
import type { PoolShare, PoolWindow } from './attempts.js';
import {
  DegradedCondition,
  FailoverCondition,
  HeldCondition,
  type DegradedState,
  type FailoverState,
  type HeldState,
  type SinceOpenState,
} from './conditions.js';
import { baseView, type ConditionView, type RequestSample, type ViewContext } from './view.js';

type Pool = NonNullable<ConditionView['pool']>;

/**
 * The failing pool's attempts since its incident opened. The pool's window
 * already keeps running totals; this notes them when the incident opens and
 * reads the difference, so an attempt costs nothing more than the window's
 * own count. The detector counts a line's attempts after judging it, so the
 * line that opens the incident is among them.
 */
class SinceOpen {
  // The totals the incident's count starts from: negative after a restart,
  // the saved count carried on by totals that start again at 0.
  private attempts = 0;
  private failed = 0;
  // Unknown for an incident restored from a state saved before this count.
  private known: boolean;

  constructor(
    private readonly window: PoolWindow,
    active: boolean,
    restore: SinceOpenState['sinceOpen'],
  ) {
    this.known = !active || restore !== undefined;
    if (restore !== undefined) {
      this.attempts = window.attemptsSoFar - restore.attempts;
      this.failed = window.failedSoFar - restore.failed;
    }
  }

  /** The incident opened now: its count starts afresh. */
  start(): void {
    this.attempts = this.window.attemptsSoFar;
    this.failed = this.window.failedSoFar;
    this.known = true;
  }

  /** While the incident is open; undefined once it resolved, or when unknown. */
  read(active: boolean): PoolShare | undefined {
    if (!active || !this.known) return undefined;
    return { attempts: this.window.attemptsSoFar - this.attempts, failed: this.window.failedSoFar - this.failed };
  }
}

/** failover:<pool>: the primary fails and the backup serves. */
export class FailoverIncident extends FailoverCondition {
  readonly key: string;
  /** The request that last showed it, for the message's details. */
  lastFailure: RequestSample | undefined;

  private readonly sinceOpen: SinceOpen;

  constructor(
    readonly pool: Pool,
    private readonly attempts: PoolWindow,
    holdMs: number,
    restore?: FailoverState,
  ) {
    super(holdMs, restore);
    this.key = incidentKey('failover', pool);
    this.sinceOpen = new SinceOpen(attempts, this.active, restore?.sinceOpen);
  }

  override interrupt(now: number): boolean {
    const opened = super.interrupt(now);
    if (opened) this.sinceOpen.start();
    return opened;
  }

  /** Undefined until it first opens: failures counted toward another incident (an outage, an unretried POST) create it without opening it. */
  view(ctx: ViewContext): ConditionView | undefined {
    if (this.since === 0) return undefined;
    const now = ctx.now;
    const recent = this.flipsRecently(now);
    const view = baseView(ctx, this.key, 'failover', this, this.levelWith(recent), this.hold, this.steadyFor(now), this.lastFailure);
    view.pool = this.pool;
    view.flips = this.totalFlips;
    view.recentFlips = recent;
    view.share = this.attempts.share();
    const sinceOpen = this.sinceOpen.read(this.active);
    if (sinceOpen !== undefined) view.sinceOpen = sinceOpen;
    return view;
  }

  override snapshot(): FailoverState {
    const state = super.snapshot();
    const sinceOpen = this.sinceOpen.read(this.active);
    if (sinceOpen !== undefined) state.sinceOpen = sinceOpen;
    return state;
  }
}

/** degraded:<pool>: some replicas of the primary fail, its others serve. */
export class DegradedIncident extends DegradedCondition {
  readonly key: string;
  lastFailure: RequestSample | undefined;
  private readonly sinceOpen: SinceOpen;

  constructor(
    readonly pool: Pool,
    private readonly attempts: PoolWindow,
    holdMs: number,
    restore?: DegradedState,
  ) {
    super(holdMs, restore);
    this.key = incidentKey('degraded', pool);
    this.sinceOpen = new SinceOpen(attempts, this.active, restore?.sinceOpen);
  }

  override interrupt(now: number): boolean {
    const opened = super.interrupt(now);
    if (opened) this.sinceOpen.start();
    return opened;
  }

  view(ctx: ViewContext): ConditionView {
    const view = baseView(ctx, this.key, 'degraded', this, this.level('masked'), this.hold, this.steadyFor(ctx.now), this.lastFailure);
    view.pool = this.pool;
    view.share = this.attempts.share();
    view.replicas = this.failing().map(({ addr, failures }) => ({ addr, failures }));
    const sinceOpen = this.sinceOpen.read(this.active);
    if (sinceOpen !== undefined) view.sinceOpen = sinceOpen;
    return view;
  }

  override snapshot(): DegradedState {
    const state = super.snapshot();
    const sinceOpen = this.sinceOpen.read(this.active);
    if (sinceOpen !== undefined) state.sinceOpen = sinceOpen;
    return state;
  }
}

/** outage: no pool could answer, the backup failed too. */
export class OutageIncident extends HeldCondition {
  readonly key = 'outage';
  lastFailure: RequestSample | undefined;

  constructor(holdMs: number, restore?: HeldState) {
    super(holdMs, restore);
  }

  /** Undefined until it first opens. */
  view(ctx: ViewContext): ConditionView | undefined {
    if (this.since === 0) return undefined;
    const level: Level = this.level('down');
    return baseView(ctx, this.key, 'outage', this, level, this.hold, this.steadyFor(ctx.now), this.lastFailure);
  }
}
