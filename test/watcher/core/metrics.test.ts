// The metrics core: fixed-bucket histograms, their quantiles, and traffic
// counted per pool from records.
import { describe, expect, it } from 'vitest';
import { Attribution } from '../../../watcher/detect/index.js';
import { DURATION_BUCKETS_MS, Histogram, quantile, TrafficMetrics } from '../../../watcher/metrics/index.js';
import { parseLine } from '../../../watcher/parse/index.js';
import { noUpstream, ok, record, retried } from './records.js';

describe('Histogram', () => {
  it('counts a value in the first bucket whose bound is at or above it, and beyond the last in +Inf', () => {
    const h = new Histogram([0.01, 0.1, 1]);
    for (const v of [0, 0.01, 0.010001, 0.1, 0.5, 1, 1.5, 99]) h.observe(v);
    expect([...h.counts]).toEqual([2, 2, 2, 2]);
    expect(h.count).toBe(8);
    expect(h.sum).toBeCloseTo(102.120001, 9);
  });

  it('has the duration buckets in increasing order', () => {
    expect([...DURATION_BUCKETS_MS].sort((a, b) => a - b)).toEqual(DURATION_BUCKETS_MS);
  });
});

describe('quantile', () => {
  const bounds = [0.01, 0.1, 1];

  it('interpolates within the bucket that holds the rank, as histogram_quantile does', () => {
    // 100 in (0, 0.01], 100 in (0.01, 0.1]: the median is the top of the first bucket.
    expect(quantile(bounds, [100, 100, 0, 0], 0.5)).toBeCloseTo(0.01, 9);
    // p75: halfway into the second bucket.
    expect(quantile(bounds, [100, 100, 0, 0], 0.75)).toBeCloseTo(0.055, 9);
    expect(quantile(bounds, [0, 0, 10, 0], 0.99)).toBeCloseTo(0.1 + 0.9 * 0.99, 9);
  });

  it('gives the highest bound for a rank in +Inf, and undefined for no observation', () => {
    expect(quantile(bounds, [1, 0, 0, 99], 0.99)).toBe(1);
    expect(quantile(bounds, [0, 0, 0, 0], 0.5)).toBeUndefined();
  });
});

describe('TrafficMetrics', () => {
  const make = (primary = 'blue', serving = primary) =>
    new TrafficMetrics({
      pools: ['blue', 'green'],
      attribution: new Attribution(['blue', 'green'], { primaryPool: primary, servingPool: serving }),
    });
  const classes = (t: TrafficMetrics, pool: string) => [...(t.byPool.get(pool)?.byClass ?? [])];

  it('counts requests by the pool that answered and their status class', () => {
    const t = make();
    for (const r of [ok('blue'), ok('blue'), record({ status: 404 }), ok('green'), record({ pool: 'green', status: 503, upstreamStatuses: [503] })]) {
      t.observe(r);
    }
    expect(classes(t, 'blue')).toEqual([0, 2, 0, 1, 0]);
    expect(classes(t, 'green')).toEqual([0, 1, 0, 0, 1]);
    expect(t.byPool.get('blue')?.requests()).toBe(3);
  });

  it('puts a request no known pool answered under none, and never learns a stray pool name', () => {
    const t = make();
    t.observe(noUpstream());
    t.observe(record({ pool: 'evil', upstreamStatuses: [200] }));
    t.observe(record({ pool: 'evil', upstreamStatuses: [200] }));
    expect(classes(t, 'none')).toEqual([0, 2, 0, 0, 1]);
    expect([...t.byPool.keys()].sort()).toEqual(['blue', 'green', 'none']);
    t.observe(ok('blue'));
    expect(classes(t, 'blue')).toEqual([0, 1, 0, 0, 0]);
  });

  it('times each request by its pool, and each attempt of a retried one by the pool it went to', () => {
    const t = make();
    t.observe(record({ requestMs: 4, upstreamResponseMs: [3] }));
    t.observe(record({ ...retried(), requestMs: 500, upstreamResponseMs: [450, 20] }));
    const blue = t.byPool.get('blue');
    const green = t.byPool.get('green');
    expect(blue?.requestDuration.count).toBe(1);
    expect(green?.requestDuration.count).toBe(1);
    expect(green?.requestDuration.sum).toBe(500);
    // The failed 450 ms attempt is blue's, the 20 ms one green's.
    expect(blue?.upstreamDuration.count).toBe(2);
    expect(blue?.upstreamDuration.sum).toBe(453);
    expect(green?.upstreamDuration.sum).toBe(20);
  });

  it('reads the times of a line as Nginx writes it, through the fast reader', () => {
    const t = make();
    const line =
      'time=2026-11-22T00:00:00.003+00:00 rid=r method=GET path="/" status=200 pool="blue" release="b1" ' +
      'upstream_status="200" upstream_addr="172.18.0.3:3000" request_time=0.030 upstream_response_time="0.009" bytes=12';
    const parsed = parseLine(line);
    if (!parsed.ok) throw new Error(parsed.reason);
    t.observe(parsed.record);
    expect(t.byPool.get('blue')?.requestDuration.sum).toBe(30);
    expect(t.byPool.get('blue')?.upstreamDuration.sum).toBe(9);
  });
});
