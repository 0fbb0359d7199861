import { describe, expect, it } from 'vitest';
import { Detector, type DetectorOptions } from '../../../watcher/detect/index.js';
import { RESOLVE_FRACTION } from '../../../watcher/detect/errorRate.js';
import type { AccessRecord, Alert } from '../../../watcher/types.js';
import { noUpstream, ok, record, retried } from './records.js';

const NOW = 1_800_000_000_000;

function detector(opts: Partial<DetectorOptions> = {}): Detector {
  return new Detector({
    activePool: 'blue',
    windowSize: 10,
    thresholdPercent: 20,
    clock: () => NOW,
    plannedSwitch: () => undefined,
    ...opts,
  });
}

function feed(d: Detector, records: AccessRecord[]): Alert[] {
  return records.flatMap((r) => d.observe(r));
}

const times = (n: number, make: () => AccessRecord): AccessRecord[] => Array.from({ length: n }, make);
const kinds = (alerts: Alert[]) => alerts.map((a) => a.kind);

describe('Detector pool flips', () => {
  it('raises a failover alert with the triggering line and a window snapshot', () => {
    const d = detector();
    feed(d, times(3, () => ok('blue')));
    const r = retried();
    const alerts = d.observe(r);
    expect(alerts).toEqual([
      {
        kind: 'failover',
        at: NOW,
        from: 'blue',
        to: 'green',
        fromRelease: 'blue-v1',
        toRelease: 'green-v1',
        record: r,
        window: expect.objectContaining({ count: 4, errors: 1, upstreamErrors: 1 }),
        thresholdPercent: 20,
        heldBack: 0,
      },
    ]);
    expect([d.servingPool, d.primaryPool]).toEqual(['green', 'blue']);
  });

  it('omits releases it never saw instead of carrying undefined', () => {
    const alert = detector().observe(record({ pool: 'green', release: undefined }))[0];
    expect(alert).toBeDefined();
    expect(Object.keys(alert ?? {})).not.toContain('fromRelease');
    expect(Object.keys(alert ?? {})).not.toContain('toRelease');
  });

  it('raises recovery when blue serves again, and counts no-pool lines in the window only', () => {
    const d = detector();
    expect(kinds(feed(d, [ok('green'), noUpstream(), ok('blue')]))).toEqual(['failover', 'recovery']);
    expect(d.windowStats()).toMatchObject({ count: 3, clientErrors: 1 });
  });

  it('reports a planned switch and makes the new pool primary', () => {
    const d = detector({
      plannedSwitch: () => ({ id: 'x', from: 'blue', to: 'green', createdAt: NOW, expiresAt: NOW + 1 }),
    });
    expect(kinds(feed(d, [ok('green')]))).toEqual(['planned_switch']);
    expect(d.primaryPool).toBe('green');
  });
});

describe('Detector error rate', () => {
  it('stays quiet until the window is full, however bad the start', () => {
    const d = detector();
    expect(feed(d, times(9, noUpstream))).toEqual([]);
    expect(kinds(d.observe(noUpstream()))).toEqual(['error_rate']);
  });

  it('fires once above the threshold, not at it', () => {
    const d = detector();
    // 2 errors in 10 = 20%: at the threshold, not above.
    expect(feed(d, [...times(8, ok), ...times(2, noUpstream)])).toEqual([]);
    const alerts = d.observe(noUpstream());
    expect(alerts).toMatchObject([{ kind: 'error_rate', window: { count: 10, errors: 3, errorRate: 30 } }]);
    expect(feed(d, times(20, noUpstream))).toEqual([]);
  });

  it('counts upstream failures masked by a retry', () => {
    const d = detector({ activePool: 'green' });
    expect(kinds(feed(d, times(10, retried)))).toEqual(['error_rate']);
  });

  it('stays firing between half the threshold and the threshold, then resolves once', () => {
    expect(RESOLVE_FRACTION).toBe(0.5);
    const d = detector();
    expect(kinds(feed(d, times(10, noUpstream)))).toEqual(['error_rate']);
    // Down to 2/10 = 20% (at threshold) and 11 more lines to keep it there: still firing, silent.
    expect(feed(d, times(8, ok))).toEqual([]);
    expect(feed(d, [noUpstream(), noUpstream(), ...times(8, ok)])).toEqual([]);
    expect(d.windowStats().errorRate).toBe(20);
    // 1/10 = 10% = half the threshold: resolved.
    const resolved = d.observe(ok());
    expect(resolved).toMatchObject([{ kind: 'resolved', window: { errorRate: 10 } }]);
    expect(feed(d, times(20, ok))).toEqual([]);
  });

  it('does not resolve just above half the threshold', () => {
    const d = detector({ windowSize: 100, thresholdPercent: 20 });
    expect(kinds(feed(d, [...times(79, ok), ...times(21, noUpstream)]))).toEqual(['error_rate']);
    // Evict the 79 oks first, then the errors one at a time: the rate falls by 1 point per line.
    expect(kinds(feed(d, times(79, ok)))).toEqual([]);
    expect(kinds(feed(d, times(10, ok)))).toEqual([]);
    expect(d.windowStats().errorRate).toBeCloseTo(11);
    expect(kinds(feed(d, times(1, ok)))).toEqual(['resolved']);
  });

  it('fires again after resolving', () => {
    const d = detector();
    expect(kinds(feed(d, [...times(10, noUpstream), ...times(10, ok), ...times(10, noUpstream)]))).toEqual([
      'error_rate',
      'resolved',
      'error_rate',
    ]);
  });

  it('puts the flip before the error-rate alert when one line triggers both', () => {
    const d = detector();
    feed(d, times(9, noUpstream));
    const alerts = d.observe(record({ pool: 'green', status: 502 }));
    expect(kinds(alerts)).toEqual(['failover', 'error_rate']);
    expect(alerts[1]).not.toHaveProperty('from');
    expect(alerts[0]?.window).toEqual(alerts[1]?.window);
  });

  it('reads the clock only when it raises an alert', () => {
    let reads = 0;
    const d = detector({ clock: () => (reads++, NOW) });
    feed(d, times(50, ok));
    expect(reads).toBe(0);
    d.observe(ok('green'));
    expect(reads).toBe(1);
  });

  it.each([-1, 101, Number.NaN])('rejects threshold %s', (thresholdPercent) => {
    expect(() => detector({ thresholdPercent })).toThrow(RangeError);
  });
});

describe('Detector state across a restart', () => {
  it('carries serving and primary pool, the firing error rate and used switch ids into a new detector', () => {
    const marker = { id: 'm1', from: 'blue', to: 'green', createdAt: NOW, expiresAt: NOW + 60_000 };
    const first = detector({ plannedSwitch: () => marker });
    expect(kinds(feed(first, [ok('green')]))).toEqual(['planned_switch']);
    expect(kinds(feed(first, [ok('blue'), ...times(10, noUpstream)]))).toEqual(['failover', 'error_rate']);
    const saved = first.state();
    expect(saved).toEqual({ servingPool: 'blue', primaryPool: 'green', usedSwitchIds: ['m1'], errorRateFiring: true });

    // The same marker is still on disk: it must not excuse the flip back, and the open incident must not fire again.
    const second = detector({ plannedSwitch: () => marker, restore: JSON.parse(JSON.stringify(saved)) });
    expect(second.servingPool).toBe('blue');
    expect(kinds(feed(second, times(10, noUpstream)))).toEqual([]);
    expect(kinds(feed(second, [ok('green')]))).toEqual(['recovery']);
    expect(kinds(feed(second, times(10, () => ok('green'))))).toEqual(['resolved']);
  });

  it('neither fires nor resolves on a part-filled window after restoring a firing alert', () => {
    const d = detector({ restore: { servingPool: 'blue', primaryPool: 'blue', usedSwitchIds: [], errorRateFiring: true } });
    expect(feed(d, times(9, ok))).toEqual([]);
    expect(kinds(feed(d, [ok()]))).toEqual(['resolved']);
  });
});
