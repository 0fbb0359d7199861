// The status page's charts from the traffic counters: the counters only grow
// (since the watcher started), so each step's figures are the difference
// between two readings. Steps sit on a fixed grid from the first reading; only
// closed steps are shown, so a chart never shows a half-counted step as a dip.
import { quantile } from '../metrics/histogram.js';
import type { PoolTotals } from '../metrics/traffic.js';
import type { PageSeries, PoolSeries } from './model.js';

export const STEP_SEC = 10;
/** 15 minutes of 10 s steps. */
export const STEPS = 90;

/** One pool's figures in one step. */
interface StepFigures {
  rps: number;
  failedShare: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The counters of a reading, copied: the live histogram keeps counting. */
interface Reading {
  requests: number;
  attempts: number;
  failedAttempts: number;
  bounds: readonly number[];
  buckets: Float64Array;
}

const read = (totals: PoolTotals): Reading => ({
  requests: totals.requests,
  attempts: totals.attempts,
  failedAttempts: totals.failedAttempts,
  bounds: totals.requestDuration.bounds,
  buckets: Float64Array.from(totals.requestDuration.counts),
});

/** `now - before`, or all of `now` when any counter went down (the counting restarted). */
function difference(now: Reading, before: Reading | undefined): Reading {
  if (before === undefined || now.buckets.length !== before.buckets.length) return now;
  const buckets = now.buckets.map((n, i) => n - (before.buckets[i] as number));
  const restarted =
    now.requests < before.requests ||
    now.attempts < before.attempts ||
    now.failedAttempts < before.failedAttempts ||
    buckets.some((n) => n < 0);
  if (restarted) return now;
  return {
    requests: now.requests - before.requests,
    attempts: now.attempts - before.attempts,
    failedAttempts: now.failedAttempts - before.failedAttempts,
    bounds: now.bounds,
    buckets,
  };
}

// Enough digits to chart; fewer bytes in every `series` event.
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function quantileMs(diff: Reading, q: number): number | null {
  const ms = quantile(diff.bounds, diff.buckets, q);
  return ms === undefined ? null : round(ms, 2);
}

/** `diff` spread evenly over `seconds`. */
function figures(diff: Reading, seconds: number): StepFigures {
  return {
    rps: round(diff.requests / seconds, 3),
    failedShare: diff.attempts === 0 ? null : round(diff.failedAttempts / diff.attempts, 4),
    p50Ms: quantileMs(diff, 0.5),
    p99Ms: quantileMs(diff, 0.99),
  };
}

export class SeriesRecorder {
  readonly stepSec: number;
  private readonly stepMs: number;
  private readonly capacity: number;
  /** Closed steps, oldest first: a ring of at most `capacity`, by pool. */
  private readonly steps: Array<Record<string, StepFigures>> = [];
  private previous = new Map<string, Reading>();
  /** Epoch ms at which the step in progress closes; undefined before the first reading. */
  private nextEnd: number | undefined;

  constructor(opts: { stepSec?: number; steps?: number } = {}) {
    this.stepSec = opts.stepSec ?? STEP_SEC;
    this.capacity = opts.steps ?? STEPS;
    if (!(this.stepSec > 0) || !Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`series need a positive step and step count, got ${this.stepSec} s × ${this.capacity}`);
    }
    this.stepMs = this.stepSec * 1000;
  }

  /**
   * Takes a reading of the counters (call about once a second); true when it
   * closed a step, so the caller can push the `series` event.
   */
  sample(now: number, totals: Record<string, PoolTotals>): boolean {
    if (this.nextEnd === undefined) {
      this.nextEnd = now + this.stepMs;
      this.previous = this.readAll(totals);
      return false;
    }
    if (now < this.nextEnd) return false;
    // A stalled process (or a suspended host) passes several boundaries at
    // once: what was counted meanwhile is spread over the steps it spans, so
    // the grid stays regular and the rate stays a rate.
    const passed = Math.floor((now - this.nextEnd) / this.stepMs) + 1;
    const current = this.readAll(totals);
    const step: Record<string, StepFigures> = {};
    for (const [pool, reading] of current) {
      step[pool] = figures(difference(reading, this.previous.get(pool)), this.stepSec * passed);
    }
    for (let i = Math.min(passed, this.capacity); i > 0; i--) this.push(step);
    this.nextEnd += passed * this.stepMs;
    this.previous = current;
    return true;
  }

  /** The closed steps, oldest first; every pool seen in them has a value in every step. */
  series(): PageSeries {
    const pools: Record<string, PoolSeries> = {};
    for (const pool of new Set(this.steps.flatMap((step) => Object.keys(step)))) {
      const of = this.steps.map((step) => step[pool]);
      pools[pool] = {
        rps: of.map((f) => f?.rps ?? 0),
        failedShare: of.map((f) => f?.failedShare ?? null),
        p50Ms: of.map((f) => f?.p50Ms ?? null),
        p99Ms: of.map((f) => f?.p99Ms ?? null),
      };
    }
    // Before a step closes, `end` is where the first will start: the page's time axis ends there.
    const end = this.nextEnd === undefined ? 0 : this.nextEnd - this.stepMs;
    return { stepSec: this.stepSec, end, pools };
  }

  private readAll(totals: Record<string, PoolTotals>): Map<string, Reading> {
    return new Map(Object.entries(totals).map(([pool, t]) => [pool, read(t)]));
  }

  private push(step: Record<string, StepFigures>): void {
    this.steps.push(step);
    if (this.steps.length > this.capacity) this.steps.shift();
  }
}
