// The conditions as the detector holds them: each lifetime (conditions.ts)
// with what it is about (its key, its pool and that pool's attempts), the
// request that last showed it, and its own view. The detector asks each for
// its view and its snapshot; none needs to know the kind of another.
import type { Level } from '../vocabulary.js';
import { incidentKey } from '../vocabulary.js';
import type { PoolWindow } from './attempts.js';
import { DegradedCondition, FailoverCondition, HeldCondition, type DegradedState, type FailoverState, type HeldState } from './conditions.js';
import { baseView, type ConditionView, type RequestSample, type ViewContext } from './view.js';

type Pool = NonNullable<ConditionView['pool']>;

/** failover:<pool>: the primary fails and the backup serves. */
export class FailoverIncident extends FailoverCondition {
  readonly key: string;
  /** The request that last showed it, for the message's details. */
  lastFailure: RequestSample | undefined;

  constructor(
    readonly pool: Pool,
    private readonly attempts: PoolWindow,
    holdMs: number,
    restore?: FailoverState,
  ) {
    super(holdMs, restore);
    this.key = incidentKey('failover', pool);
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
    return view;
  }
}

/** degraded:<pool>: some replicas of the primary fail, its others serve. */
export class DegradedIncident extends DegradedCondition {
  readonly key: string;
  lastFailure: RequestSample | undefined;

  constructor(
    readonly pool: Pool,
    private readonly attempts: PoolWindow,
    holdMs: number,
    restore?: DegradedState,
  ) {
    super(holdMs, restore);
    this.key = incidentKey('degraded', pool);
  }

  view(ctx: ViewContext): ConditionView {
    const view = baseView(ctx, this.key, 'degraded', this, this.level('masked'), this.hold, this.steadyFor(ctx.now), this.lastFailure);
    view.pool = this.pool;
    view.share = this.attempts.share();
    view.replicas = this.failing().map(({ addr, failures }) => ({ addr, failures }));
    return view;
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
