// The page's charts from growing counters: 10 s steps on a fixed grid, each
// the difference between two readings; only closed steps; at most 90.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../../watcher/metrics/histogram.js';
import type { PoolTotals } from '../../../watcher/metrics/traffic.js';
import { SeriesRecorder, STEPS } from '../../../watcher/page/index.js';

const T0 = 1_700_000_000_000;

/** Mutable counters, as the traffic counter keeps them. */
function totals(): PoolTotals {
  return { requests: 0, attempts: 0, failedAttempts: 0, requestDuration: new Histogram() };
}

function count(t: PoolTotals, n: number, ms: number, failed = 0): void {
  for (let i = 0; i < n; i++) {
    t.requests++;
    t.attempts++;
    t.requestDuration.observe(ms);
  }
  t.attempts += failed;
  t.failedAttempts += failed;
}

describe('SeriesRecorder', () => {
  it('closes the first step 10 s after the first reading, and only then', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    expect(rec.sample(T0, { blue })).toBe(false);
    expect(rec.series()).toEqual({ stepSec: 10, end: T0, pools: {} });
    count(blue, 50, 2);
    expect(rec.sample(T0 + 9_999, { blue })).toBe(false);
    expect(rec.series().pools).toEqual({});
    expect(rec.sample(T0 + 10_000, { blue })).toBe(true);
    expect(rec.series()).toEqual({
      stepSec: 10,
      end: T0 + 10_000,
      pools: { blue: { rps: [5], failedShare: [0], p50Ms: [1.75], p99Ms: [2.48] } }, // 2.485, rounded down: 2.485 is not exact in binary
    });
    // The next step is on the grid, whatever the sampling jitter.
    expect(rec.sample(T0 + 20_300, { blue })).toBe(true);
    expect(rec.series().end).toBe(T0 + 20_000);
    expect(rec.sample(T0 + 29_999, { blue })).toBe(false);
  });

  it('gives each step the difference since the previous one: rps, failed share, quantiles', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    count(blue, 1000, 500); // before the first reading: not charted
    rec.sample(T0, { blue });
    // 100 requests: 90 within (1 ms, 2.5 ms], 10 within (50 ms, 100 ms]; 5 retried failures.
    count(blue, 90, 2);
    count(blue, 10, 70, 5);
    rec.sample(T0 + 10_000, { blue });
    const step = rec.series().pools.blue!;
    expect(step.rps).toEqual([10]);
    expect(step.failedShare).toEqual([Number((5 / 105).toFixed(4))]);
    // p50: rank 50 of the 90 in (1, 2.5] ms → 1 + 1.5 × 50/90.
    expect(step.p50Ms[0]).toBeCloseTo(1 + 1.5 * (50 / 90), 2);
    // p99: rank 99, 9 into the 10 in (50, 100] ms → 50 + 50 × 9/10.
    expect(step.p99Ms[0]).toBeCloseTo(95, 2);
  });

  it('has null quantiles and share when a pool saw nothing, and 0 rps', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    const green = totals();
    rec.sample(T0, { blue, green });
    count(blue, 10, 2);
    rec.sample(T0 + 10_000, { blue, green });
    expect(rec.series().pools.green).toEqual({ rps: [0], failedShare: [null], p50Ms: [null], p99Ms: [null] });
  });

  it('fills steps before a pool appeared with 0 and null', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    rec.sample(T0, { blue });
    rec.sample(T0 + 10_000, { blue });
    const green = totals();
    count(green, 20, 2);
    rec.sample(T0 + 20_000, { blue, green });
    expect(rec.series().pools.green).toEqual({
      rps: [0, 2],
      failedShare: [null, 0],
      p50Ms: [null, 1.75],
      p99Ms: [null, 2.48],
    });
  });

  it('keeps only the last 90 steps', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    rec.sample(T0, { blue });
    for (let i = 1; i <= 100; i++) {
      count(blue, i * 10, 2);
      rec.sample(T0 + i * 10_000, { blue });
    }
    const { end, pools } = rec.series();
    expect(pools.blue!.rps).toHaveLength(STEPS);
    expect(end).toBe(T0 + 1_000_000);
    // Oldest kept is step 11 (110 requests in 10 s), newest step 100.
    expect(pools.blue!.rps[0]).toBe(11);
    expect(pools.blue!.rps.at(-1)).toBe(100);
  });

  it('counts a step from 0 when a total went down (the counting restarted)', () => {
    const rec = new SeriesRecorder();
    const before = totals();
    count(before, 500, 2, 50);
    rec.sample(T0, { blue: before });
    const restarted = totals();
    count(restarted, 30, 2, 3);
    rec.sample(T0 + 10_000, { blue: restarted });
    expect(rec.series().pools.blue).toMatchObject({ rps: [3], failedShare: [0.0909] });
  });

  it('spreads what was counted over every step a stall skipped', () => {
    const rec = new SeriesRecorder();
    const blue = totals();
    rec.sample(T0, { blue });
    count(blue, 300, 2);
    expect(rec.sample(T0 + 30_500, { blue })).toBe(true);
    const { end, pools } = rec.series();
    expect(end).toBe(T0 + 30_000);
    expect(pools.blue!.rps).toEqual([10, 10, 10]);
    // A stall longer than the window leaves a full window, no more.
    rec.sample(T0 + 5_000_000, { blue });
    expect(rec.series().pools.blue!.rps).toHaveLength(STEPS);
  });
});
