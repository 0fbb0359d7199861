// The detect stage: access records in, conditions out. Each condition opens at
// once and resolves only after RECOVERY_HOLD of steady service (tick), the
// error rate by hysteresis; a planned switch is a notice, not an incident.
import { describe, expect, it } from 'vitest';
import { RESOLVE_FRACTION } from '../../../watcher/detect/errorRate.js';
import { OLD_WORKER_GRACE_MS } from '../../../watcher/detect/poolFlip.js';
import {
  conditionViewSchema,
  Detector,
  DEGRADED_MIN_HOLD_MS,
  FLAP_FLIPS,
  NGINX_FAIL_TIMEOUT_MS,
  REPLICAS_KEPT,
  type ConditionView,
  type DetectorOptions,
} from '../../../watcher/detect/index.js';
import type { AccessRecord, PlannedSwitch } from '../../../watcher/types.js';
import { readTemplate } from './nginxTemplate.js';
import { record } from './records.js';
import { failedOver, noPool, served } from './sim.js';

const T = 1_800_000_000_000;
const HOLD = 10_000;
const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';

function setup(opts: Partial<DetectorOptions> = {}) {
  const clock = { now: T };
  const d = new Detector({
    activePool: 'blue',
    windowSize: 10,
    poolWindowSize: 10,
    thresholdPercent: 20,
    recoveryHoldMs: HOLD,
    clock: () => clock.now,
    plannedSwitch: () => undefined,
    ...opts,
  });
  /** Observes `r` at T + ms. */
  const at = (ms: number, r: AccessRecord): boolean => {
    clock.now = T + ms;
    return d.observe(r);
  };
  const view = (key: string): ConditionView | undefined => d.conditions(clock.now).find((v) => v.key === key);
  const active = (): string[] => d.conditions(clock.now).filter((v) => v.active).map((v) => v.key);
  return { d, clock, at, view, active };
}

const feed = (d: Detector, records: AccessRecord[]): boolean[] => records.map((r) => d.observe(r));
const times = (n: number, make: () => AccessRecord): AccessRecord[] => Array.from({ length: n }, make);

/** A 5xx that reached the client with no upstream attempt logged: counts in the window only. */
const clientError = (): AccessRecord =>
  record({ status: 502, pool: undefined, release: undefined, upstreamStatuses: [], upstreamAddrs: [] });
/** An unretried request (a POST) that blue failed: the client sees the 5xx and no pool changes. */
const unretried = (): AccessRecord => record({ method: 'POST', status: 503, upstreamStatuses: [500], upstreamAddrs: [BLUE] });

const marker = (fields: Partial<PlannedSwitch> = {}): PlannedSwitch => ({
  id: 'm1',
  from: 'blue',
  to: 'green',
  createdAt: T,
  expiresAt: T + 600_000,
  ...fields,
});

describe('Detector: failover', () => {
  it('opens on a retried failure, with the failing pool, its failure share and the request', () => {
    const { d, at, view } = setup();
    expect(feed(d, times(3, () => served('blue')))).toEqual([false, false, false]);
    expect(d.conditions(T)).toEqual([]);
    expect(at(0, failedOver())).toBe(true);
    const v = view('failover:blue');
    expect(v).toEqual({
      key: 'failover:blue',
      kind: 'failover',
      active: true,
      level: 'failing',
      since: T,
      at: T,
      pool: 'blue',
      primaryPool: 'blue',
      servingPool: 'green',
      releases: { blue: 'blue-v1', green: 'green-v1' },
      failures: 1,
      flips: 1,
      recentFlips: 1,
      holdMs: HOLD,
      share: { failed: 1, attempts: 4 },
      sinceOpen: { failed: 1, attempts: 1 },
      window: expect.objectContaining({ size: 10, count: 4, errors: 1, upstreamErrors: 1, clientErrors: 0 }),
      thresholdPercent: 20,
      lastFailure: {
        method: 'GET',
        path: '/version',
        status: 200,
        upstreamStatuses: [500, 200],
        upstreamAddrs: [BLUE, GREEN],
        upstreamPools: ['blue', 'green'],
      },
    });
    expect(conditionViewSchema.parse(v)).toEqual(v);
    expect([d.servingPool, d.primaryPool]).toEqual(['green', 'blue']);
  });

  it('opens on a flip to the backup even without a failed attempt', () => {
    const { at, view } = setup();
    expect(at(0, served('green'))).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'failing', failures: 0, flips: 1 });
    expect(view('failover:blue')).not.toHaveProperty('lastFailure');
  });

  it('stays open while the backup serves and the primary keeps failing: the count grows, nothing changes', () => {
    // A window the probes cannot push over the threshold: the failover alone.
    const { d, at, view } = setup({ windowSize: 200 });
    at(0, failedOver());
    expect(feed(d, times(20, () => served('green'))).some(Boolean)).toBe(false);
    // Nginx probes blue after each fail_timeout: it fails again, green answers.
    for (let i = 1; i <= 3; i++) expect(at(i * 5_000, failedOver())).toBe(false);
    expect(d.tick(T + 3_600_000)).toBe(false);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'failing', since: T, failures: 4, flips: 1 });
  });

  it('resolves only after recoveryHoldMs of steady service on the primary, via tick', () => {
    const { d, clock, at, view } = setup();
    at(0, failedOver());
    expect(at(5_000, served('blue'))).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'recovering', steadyForMs: 0, flips: 2, servingPool: 'blue' });
    expect(at(9_000, served('blue'))).toBe(false);
    expect(view('failover:blue')?.steadyForMs).toBe(4_000);
    expect(d.tick(T + 5_000 + HOLD - 1)).toBe(false);
    expect(view('failover:blue')?.active).toBe(true);
    expect(d.tick(T + 5_000 + HOLD)).toBe(true);
    clock.now = T + 5_000 + HOLD;
    const v = view('failover:blue');
    expect(v).toMatchObject({ active: false, level: 'ok', since: T + 5_000 + HOLD, failures: 1, flips: 2 });
    expect(v).not.toHaveProperty('steadyForMs');
    expect(d.tick(T + 60_000)).toBe(false);
  });

  it('a failure during the hold stops it: the all-clear needs a full hold after the last failure', () => {
    const { d, at, view } = setup();
    at(0, failedOver());
    at(1_000, served('blue'));
    expect(at(5_000, failedOver())).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'failing', failures: 2, flips: 3, since: T });
    at(6_000, served('blue'));
    expect(d.tick(T + 1_000 + HOLD)).toBe(false);
    expect(d.tick(T + 6_000 + HOLD - 1)).toBe(false);
    expect(d.tick(T + 6_000 + HOLD)).toBe(true);
  });

  it('an unretried failure on the primary stops the hold, and its next good request starts it again', () => {
    const { d, at, view } = setup();
    at(0, failedOver());
    at(1_000, served('blue'));
    // The client sees the 5xx; Nginx does not fail over a POST: no flip, counted.
    expect(at(2_000, unretried())).toBe(false);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'failing', failures: 2 });
    expect(d.servingPool).toBe('blue');
    expect(at(3_000, served('blue'))).toBe(false);
    expect(view('failover:blue')?.level).toBe('recovering');
    expect(d.tick(T + 1_000 + HOLD)).toBe(false);
    expect(d.tick(T + 3_000 + HOLD)).toBe(true);
  });

  it('an unretried failure alone opens nothing: the failover opens with the flip that follows', () => {
    const { at, active, view } = setup();
    expect(at(0, unretried())).toBe(false);
    expect(active()).toEqual([]);
    expect(at(1_000, served('green'))).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: true, since: T + 1_000, failures: 1 });
  });

  it(`is flapping after ${FLAP_FLIPS} pool changes in the flap window`, () => {
    const { at, view } = setup();
    let ms = 0;
    for (let i = 0; i < FLAP_FLIPS / 2; i++) {
      expect(at((ms += 20_000), failedOver())).toBe(true);
      expect(at((ms += 20_000), served('blue'))).toBe(true);
    }
    // Back on blue: the hold runs, which wins over flapping.
    expect(view('failover:blue')).toMatchObject({ level: 'recovering', flips: FLAP_FLIPS, recentFlips: FLAP_FLIPS });
    expect(at((ms += 20_000), failedOver())).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: true, level: 'flapping', flips: FLAP_FLIPS + 1 });
  });
});

describe('Detector: the failing pool since its incident opened', () => {
  // Issue 25: blue answering 500 to everything for 6 s read as "2.9% (1) of
  // the last 34 attempts", the window being mostly the successes before it.
  it('counts the pool’s attempts and failures from the line that opened it, not the window’s successes before', () => {
    const { d, at, view } = setup({ poolWindowSize: 50, windowSize: 200 });
    feed(d, times(33, () => served('blue')));
    at(0, failedOver());
    // Nginx keeps blue out for fail_timeout: green serves, which is not blue's attempt.
    feed(d, times(20, () => served('green')));
    // Its probes after each fail_timeout fail again.
    at(5_000, failedOver());
    at(10_000, failedOver());
    const v = view('failover:blue');
    expect(v?.share).toEqual({ failed: 3, attempts: 36 });
    expect(v?.sinceOpen).toEqual({ failed: 3, attempts: 3 });
    // Blue back: its successes count too, the failures stay.
    at(15_000, served('blue'));
    at(16_000, served('blue'));
    expect(view('failover:blue')).toMatchObject({ level: 'recovering', sinceOpen: { failed: 3, attempts: 5 } });
  });

  it('an unretried failure counts though it opens nothing, and a failover opened by a pool change starts at 0', () => {
    const { at, view } = setup();
    at(0, served('green'));
    expect(view('failover:blue')?.sinceOpen).toEqual({ failed: 0, attempts: 0 });
    at(1_000, unretried());
    expect(view('failover:blue')?.sinceOpen).toEqual({ failed: 1, attempts: 1 });
  });

  it('is gone once resolved, and starts afresh with the next incident', () => {
    const { d, at, view } = setup();
    at(0, failedOver());
    at(1_000, failedOver());
    at(2_000, served('blue'));
    expect(d.tick(T + 2_000 + HOLD)).toBe(true);
    expect(view('failover:blue')).toMatchObject({ active: false });
    expect(view('failover:blue')).not.toHaveProperty('sinceOpen');
    at(20_000, served('blue'));
    at(30_000, failedOver());
    expect(view('failover:blue')).toMatchObject({ active: true, since: T + 30_000, sinceOpen: { failed: 1, attempts: 1 } });
  });

  it('survives a restart; a state saved before it was kept has no count until the next incident', () => {
    const first = setup();
    first.at(0, failedOver());
    first.at(5_000, failedOver());
    const saved = JSON.parse(JSON.stringify(first.d.state()));
    expect(saved.failover.blue.sinceOpen).toEqual({ failed: 2, attempts: 2 });
    const second = setup({ restore: saved });
    second.at(10_000, failedOver());
    expect(second.view('failover:blue')?.sinceOpen).toEqual({ failed: 3, attempts: 3 });

    const { sinceOpen: _, ...old } = saved.failover.blue;
    const third = setup({ restore: { ...saved, failover: { blue: old } } });
    third.at(10_000, failedOver());
    expect(third.view('failover:blue')).toMatchObject({ active: true });
    expect(third.view('failover:blue')).not.toHaveProperty('sinceOpen');
    expect(third.d.state().failover.blue).not.toHaveProperty('sinceOpen');
  });

  it('a degraded pool counts every attempt on the pool since it opened, the replicas that answered too', () => {
    const { d, at, view } = setup();
    feed(d, times(9, () => served('blue')));
    at(0, record({ pool: 'blue', upstreamStatuses: [502, 200], upstreamAddrs: ['172.18.0.5:3000', BLUE] }));
    feed(d, times(3, () => served('blue')));
    expect(view('degraded:blue')?.sinceOpen).toEqual({ failed: 1, attempts: 5 });
    expect(view('degraded:blue')?.lastFailure?.upstreamPools).toEqual(['blue', 'blue']);
  });
});

describe('Detector: outage', () => {
  it('opens when the backup failed too and a 5xx reached the client; the serving pool stays', () => {
    const { d, at, view, active } = setup();
    feed(d, times(2, () => served('blue')));
    expect(at(0, noPool())).toBe(true);
    expect(active()).toEqual(['outage']);
    expect(view('outage')).toMatchObject({
      kind: 'outage',
      active: true,
      level: 'down',
      since: T,
      failures: 1,
      servingPool: 'blue',
      lastFailure: { status: 503, upstreamStatuses: [500, 500] },
    });
    expect(view('outage')).not.toHaveProperty('pool');
    expect(d.servingPool).toBe('blue');
    expect(at(1_000, noPool())).toBe(false);
    expect(view('outage')?.failures).toBe(2);
  });

  it('a backup failure the primary answered, or a primary failure alone, is no outage', () => {
    const { at, active } = setup();
    // Blue failed, green failed, ... and the client got a 200 from the last try.
    expect(at(0, record({ pool: 'blue', upstreamStatuses: [500, 502, 200], upstreamAddrs: [BLUE, GREEN, BLUE] }))).toBe(true);
    // The primary answered in the end: a degraded pool, not a failover.
    expect(active()).toEqual(['degraded:blue']);
    const second = setup();
    expect(second.at(0, unretried())).toBe(false);
    expect(second.active()).toEqual([]);
  });

  it('during an outage a flip to the backup is not a failover, nor is the backup serving when it ends: only a failed probe of the primary after it', () => {
    const { d, clock, at, view, active } = setup();
    at(0, noPool());
    // Blue stays out for fail_timeout: green answers first.
    expect(at(1_000, served('green'))).toBe(true);
    expect(d.servingPool).toBe('green');
    expect(active()).toEqual(['outage']);
    expect(view('outage')?.level).toBe('recovering');
    at(5_000, served('green'));
    expect(d.tick(T + 1_000 + HOLD - 1)).toBe(false);
    expect(d.tick(T + 1_000 + HOLD)).toBe(true);
    clock.now = T + 1_000 + HOLD;
    // Blue may only be sitting out fail_timeout: nothing opens yet.
    expect(active()).toEqual([]);
    expect(view('outage')).toMatchObject({ active: false, level: 'ok', since: T + 1_000 + HOLD });
    // Nginx probes blue and it fails: now it is a failover.
    expect(at(20_000, failedOver())).toBe(true);
    expect(active()).toEqual(['failover:blue']);
    expect(view('failover:blue')).toMatchObject({ level: 'failing', since: T + 20_000 });
  });

  it('an outage that ends with the backup serving and a healthy primary opens nothing', () => {
    const { d, at, active } = setup();
    at(0, noPool());
    at(1_000, served('green'));
    d.tick(T + 1_000 + HOLD);
    expect(at(6_000, served('blue'))).toBe(true);
    d.tick(T + 6_000 + HOLD);
    expect(active()).toEqual([]);
  });

  it('an outage that ends on the primary opens no failover', () => {
    const { d, at, active } = setup();
    at(0, noPool());
    at(2_000, served('blue'));
    expect(d.tick(T + 2_000 + HOLD)).toBe(true);
    expect(active()).toEqual([]);
  });

  it('another failed request stops the outage hold', () => {
    const { d, at, view } = setup();
    at(0, noPool());
    at(1_000, served('blue'));
    at(2_000, noPool());
    expect(view('outage')?.level).toBe('down');
    expect(d.tick(T + 1_000 + HOLD)).toBe(false);
    at(3_000, served('blue'));
    expect(d.tick(T + 3_000 + HOLD)).toBe(true);
  });
});

describe('Detector: error rate', () => {
  it('stays quiet until the window is full, however bad the start', () => {
    const { d, view } = setup();
    expect(feed(d, times(9, clientError))).toEqual(Array(9).fill(false));
    expect(view('error_rate')).toBeUndefined();
    expect(d.observe(clientError())).toBe(true);
    expect(view('error_rate')).toMatchObject({
      kind: 'error_rate',
      active: true,
      level: 'client_visible',
      since: T,
      failures: 1,
      window: { count: 10, errors: 10, errorRate: 100 },
      thresholdPercent: 20,
      lastFailure: { status: 502, upstreamStatuses: [] },
    });
  });

  it('opens above the threshold, not at it, and counts the errors while open', () => {
    const { d, view } = setup();
    // 2 errors in 10 = 20%: at the threshold, not above.
    expect(feed(d, [...times(8, () => served('blue')), ...times(2, clientError)]).some(Boolean)).toBe(false);
    expect(d.observe(clientError())).toBe(true);
    expect(view('error_rate')).toMatchObject({ active: true, failures: 1, window: { count: 10, errors: 3, errorRate: 30 } });
    expect(feed(d, times(5, clientError)).some(Boolean)).toBe(false);
    expect(view('error_rate')?.failures).toBe(6);
  });

  it('is masked while retries hide the errors from clients, client_visible once clients see them', () => {
    const { d, view } = setup();
    feed(d, times(10, failedOver));
    expect(view('error_rate')).toMatchObject({ active: true, level: 'masked', window: { clientErrorRate: 0, upstreamErrorRate: 100 } });
    feed(d, times(3, clientError));
    expect(view('error_rate')).toMatchObject({ active: true, level: 'client_visible', window: { clientErrorRate: 30 } });
  });

  it('stays open between half the threshold and the threshold, then resolves once', () => {
    expect(RESOLVE_FRACTION).toBe(0.5);
    const { d, view } = setup();
    const ok = () => served('blue');
    feed(d, times(10, clientError));
    // Down to 2/10 = 20% (at the threshold) and kept there: still open, nothing changes.
    expect(feed(d, times(8, ok)).some(Boolean)).toBe(false);
    expect(feed(d, [clientError(), clientError(), ...times(8, ok)]).some(Boolean)).toBe(false);
    expect(d.windowStats().errorRate).toBe(20);
    expect(view('error_rate')?.active).toBe(true);
    // 1/10 = 10% = half the threshold: resolved.
    expect(d.observe(ok())).toBe(true);
    expect(view('error_rate')).toMatchObject({ active: false, level: 'ok', window: { errorRate: 10 } });
    expect(feed(d, times(20, ok)).some(Boolean)).toBe(false);
  });

  it('does not resolve just above half the threshold', () => {
    const { d, view } = setup({ windowSize: 100 });
    const ok = () => served('blue');
    feed(d, [...times(79, ok), ...times(21, clientError)]);
    expect(view('error_rate')?.active).toBe(true);
    // Evict the 79 oks, then the errors one at a time: the rate falls by a point per line.
    expect(feed(d, times(89, ok)).some(Boolean)).toBe(false);
    expect(d.windowStats().errorRate).toBeCloseTo(11);
    expect(d.observe(ok())).toBe(true);
    expect(view('error_rate')?.active).toBe(false);
  });

  it('opens again after resolving, as a new incident', () => {
    const { d, clock, view } = setup();
    feed(d, times(10, clientError));
    clock.now = T + 1_000;
    feed(d, times(10, () => served('blue')));
    expect(view('error_rate')).toMatchObject({ active: false, since: T + 1_000 });
    clock.now = T + 2_000;
    feed(d, times(3, clientError));
    expect(view('error_rate')).toMatchObject({ active: true, since: T + 2_000 });
  });

  it.each([-1, 101, Number.NaN])('rejects threshold %s', (thresholdPercent) => {
    expect(() => setup({ thresholdPercent })).toThrow(RangeError);
  });

  it.each([
    ['windowSize', 0],
    ['poolWindowSize', 0],
    ['poolWindowSize', 2.5],
  ])('rejects %s %s', (name, value) => {
    expect(() => setup({ [name]: value })).toThrow(RangeError);
  });
});

describe('Detector: planned switches', () => {
  it('are a notice, not an incident, and make the new pool the primary', () => {
    const { d, at, active, view } = setup({ plannedSwitch: () => marker() });
    at(0, served('blue'));
    expect(at(1_000, served('green'))).toBe(true);
    expect(d.takeNotices()).toEqual([
      { kind: 'planned_switch', message: 'notice', at: T + 1_000, from: 'blue', to: 'green', fromRelease: 'blue-v1', toRelease: 'green-v1' },
    ]);
    expect(d.takeNotices()).toEqual([]);
    expect([d.servingPool, d.primaryPool]).toEqual(['green', 'green']);
    expect(active()).toEqual([]);
    // Blue serving now, past the grace for Nginx's old workers, is a failover of the new primary.
    expect(at(1_000 + OLD_WORKER_GRACE_MS + 1_000, served('blue'))).toBe(true);
    expect(active()).toEqual(['failover:green']);
    expect(view('failover:green')).toMatchObject({ pool: 'green', primaryPool: 'green', servingPool: 'blue' });
    expect(d.takeNotices()).toEqual([]);
  });

  it('omits releases never seen', () => {
    const { d, at } = setup({ plannedSwitch: () => marker() });
    at(0, record({ pool: 'green', release: undefined }));
    const [notice] = d.takeNotices();
    expect(notice).toEqual({ kind: 'planned_switch', message: 'notice', at: T, from: 'blue', to: 'green' });
  });

  it("close the old primary's failover at once: it is now the backup", () => {
    let current: PlannedSwitch | undefined;
    const { d, clock, at, view } = setup({ plannedSwitch: () => current });
    at(0, failedOver());
    at(1_000, served('blue'));
    current = marker();
    expect(at(2_000, served('green'))).toBe(true);
    expect(d.takeNotices()).toHaveLength(1);
    clock.now = T + 2_000;
    expect(view('failover:blue')).toMatchObject({ active: false, level: 'ok', since: T + 2_000, primaryPool: 'green' });
    expect(view('failover:green')).toBeUndefined();
  });

  it('a flip whose request had a failed attempt is never planned, and leaves the marker unused', () => {
    const { d, at, active } = setup({ plannedSwitch: () => marker() });
    at(0, served('blue'));
    expect(at(1_000, failedOver())).toBe(true);
    expect(d.takeNotices()).toEqual([]);
    expect(d.primaryPool).toBe('blue');
    expect(active()).toEqual(['failover:blue']);
    expect(d.state().usedSwitchIds).toEqual([]);
  });
});

describe('Detector: serving pool and shares', () => {
  it('never changes the serving pool on a 5xx, whatever header it carries', () => {
    const { d } = setup();
    d.observe(record({ status: 502, pool: 'green', upstreamStatuses: [502], upstreamAddrs: [GREEN] }));
    d.observe(noPool());
    expect(d.servingPool).toBe('blue');
  });

  it('ignores a pool the stack does not run', () => {
    const { d, active } = setup();
    expect(d.observe(record({ pool: 'purple', release: 'x' }))).toBe(false);
    expect(d.observe(record({ pool: 'purple', upstreamStatuses: [500, 200], upstreamAddrs: [BLUE, GREEN] }))).toBe(true);
    expect(d.servingPool).toBe('blue');
    expect(Object.keys(d.poolShares()).sort()).toEqual(['blue', 'green']);
    // The retried line's failure is still blue's, by Nginx's order.
    expect(active()).toEqual(['failover:blue']);
    expect(d.poolShares()).toMatchObject({ blue: { failed: 1, attempts: 1 }, green: { failed: 0, attempts: 1 } });
  });

  it('keeps each pool its own share of failed attempts, over its last poolWindowSize attempts', () => {
    const { d } = setup({ poolWindowSize: 4 });
    feed(d, [served('blue'), failedOver(), served('green'), served('green'), failedOver()]);
    expect(d.poolShares()).toMatchObject({ blue: { failed: 2, attempts: 3 }, green: { failed: 0, attempts: 4 } });
    feed(d, times(3, () => served('green')));
    expect(d.poolShares().green).toMatchObject({ failed: 0, attempts: 4 });
  });

  it('counts every attempt and failure since the start in the totals, past the window', () => {
    const { d } = setup({ poolWindowSize: 4 });
    feed(d, times(3, failedOver));
    feed(d, times(10, () => served('blue')));
    feed(d, [noPool()]);
    expect(d.poolShares()).toEqual({
      // noPool: blue failed, then green.
      blue: { failed: 1, attempts: 4, total: { attempts: 14, failed: 4 } },
      green: { failed: 1, attempts: 4, total: { attempts: 4, failed: 1 } },
    });
  });

  it('reads the clock only when something happens', () => {
    let reads = 0;
    const { d } = setup({ clock: () => (reads++, T) });
    feed(d, times(50, () => served('blue')));
    expect(reads).toBe(0);
    d.observe(served('green'));
    expect(reads).toBeGreaterThan(0);
  });
});

describe('Detector: degraded pool (replicas)', () => {
  const BLUE_2 = '172.18.0.5:3000';
  const BLUE_3 = '172.18.0.6:3000';
  /** Blue replica `addr` failed and another blue replica answered the retry. */
  const replicaFailed = (addr = BLUE_2, status = 502) =>
    record({ pool: 'blue', release: 'blue-v1', upstreamStatuses: [status, 200], upstreamAddrs: [addr, BLUE] });

  it('opens on a failed replica that another replica of the pool covered, naming it: no failover, blue still serves', () => {
    const { d, at, view, active } = setup();
    at(0, served('blue'));
    expect(at(1_000, replicaFailed())).toBe(true);
    expect(active()).toEqual(['degraded:blue']);
    expect(d.servingPool).toBe('blue');
    expect(view('degraded:blue')).toMatchObject({
      kind: 'degraded',
      active: true,
      level: 'masked',
      pool: 'blue',
      servingPool: 'blue',
      failures: 1,
      replicas: [{ addr: BLUE_2, failures: 1 }],
      lastFailure: { upstreamStatuses: [502, 200], upstreamAddrs: [BLUE_2, BLUE] },
    });
    expect(conditionViewSchema.safeParse(view('degraded:blue')).success).toBe(true);
    // A second failing replica joins the list, most recent first; the same one again only counts.
    expect(at(2_000, replicaFailed(BLUE_3))).toBe(false);
    expect(at(3_000, replicaFailed(BLUE_2))).toBe(false);
    expect(view('degraded:blue')?.replicas).toEqual([
      { addr: BLUE_2, failures: 2 },
      { addr: BLUE_3, failures: 1 },
    ]);
    expect(view('failover:blue')).toBeUndefined();
  });

  it('resolves after a hold of requests with no failed attempt; a failure during the hold starts it again', () => {
    const { d, at, view } = setup();
    at(0, replicaFailed());
    at(1_000, served('blue'));
    expect(view('degraded:blue')).toMatchObject({ active: true, level: 'recovering', steadyForMs: 0, holdMs: HOLD });
    at(2_000, replicaFailed());
    at(3_000, served('blue'));
    expect(d.tick(T + 3_000 + HOLD - 1)).toBe(false);
    expect(d.tick(T + 3_000 + HOLD)).toBe(true);
    expect(view('degraded:blue')).toMatchObject({ active: false, level: 'ok' });
  });

  it('holds while the primary’s replicas fail on, even when a failover takes those failures', () => {
    const { d, at, view } = setup();
    at(0, replicaFailed());
    at(1_000, served('blue'));
    expect(view('degraded:blue')).toMatchObject({ active: true, level: 'recovering' });
    // Then every blue replica fails and green answers: the failover's failures are blue's replicas' too.
    const allFailed = record({ pool: 'green', release: 'green-v1', upstreamStatuses: [500, 500, 200], upstreamAddrs: [BLUE, BLUE_2, GREEN] });
    at(2_000, allFailed);
    expect(view('failover:blue')?.active).toBe(true);
    expect(d.tick(T + 1_000 + HOLD)).toBe(false);
    expect(view('degraded:blue')).toMatchObject({ active: true, level: 'masked' });
  });

  it('holds at least while a failed replica sits out Nginx’s fail_timeout, however short RECOVERY_HOLD is', () => {
    const { d, at, view } = setup({ recoveryHoldMs: 1_000 });
    at(0, replicaFailed());
    at(100, served('blue'));
    expect(view('degraded:blue')?.holdMs).toBe(DEGRADED_MIN_HOLD_MS);
    // The other replicas serve while the failed one is out; its probe after fail_timeout fails again.
    expect(d.tick(T + 100 + NGINX_FAIL_TIMEOUT_MS)).toBe(false);
    at(100 + NGINX_FAIL_TIMEOUT_MS, replicaFailed());
    expect(view('degraded:blue')?.active).toBe(true);
  });

  it('NGINX_FAIL_TIMEOUT_MS is the primary server’s fail_timeout in the Nginx template', () => {
    const primary = readTemplate()
      .split('\n')
      .find((line) => /^\s*server .*fail_timeout=/.test(line));
    const timeout = /fail_timeout=(\d+)s/.exec(primary ?? '')?.[1];
    expect(Number(timeout) * 1000).toBe(NGINX_FAIL_TIMEOUT_MS);
  });

  it('every replica failing, the backup answering, is the failover as with one replica, not a degraded pool', () => {
    const { at, active, view } = setup();
    const allFailed = record({
      pool: 'green',
      release: 'green-v1',
      upstreamStatuses: [500, 500, 500, 200],
      upstreamAddrs: [BLUE, BLUE_2, BLUE_3, GREEN],
    });
    expect(at(0, allFailed)).toBe(true);
    expect(active()).toEqual(['failover:blue']);
    expect(view('degraded:blue')).toBeUndefined();
  });

  it('names only what Nginx writes as an address (IP:port), and keeps at most REPLICAS_KEPT', () => {
    const { at, view } = setup();
    at(0, replicaFailed('<!here> evil'));
    for (let i = 0; i < REPLICAS_KEPT + 2; i++) at(1_000 + i, replicaFailed(`172.18.1.${i}:3000`));
    const replicas = view('degraded:blue')?.replicas ?? [];
    expect(replicas).toHaveLength(REPLICAS_KEPT);
    expect(replicas[0]).toEqual({ addr: `172.18.1.${REPLICAS_KEPT + 1}:3000`, failures: 1 });
    expect(replicas.map((r) => r.addr)).not.toContain('unknown');
    const fresh = setup();
    fresh.at(0, replicaFailed('<!here> evil'));
    expect(fresh.view('degraded:blue')?.replicas).toEqual([{ addr: 'unknown', failures: 1 }]);
  });

  it('a planned switch closes the old primary’s degraded pool: it is now the backup', () => {
    const { d, at, view } = setup({ plannedSwitch: () => marker() });
    at(0, replicaFailed());
    expect(at(1_000, served('green'))).toBe(true);
    expect(d.takeNotices()).toHaveLength(1);
    expect(view('degraded:blue')).toMatchObject({ active: false, primaryPool: 'green' });
  });

  it('survives a restart with its replicas and hold', () => {
    const first = setup();
    first.at(0, replicaFailed());
    first.at(1_000, served('blue'));
    const saved = JSON.parse(JSON.stringify(first.d.state()));
    expect(saved.degraded.blue).toMatchObject({ active: true, steadySince: T + 1_000, replicas: [{ addr: BLUE_2, failures: 1 }] });
    const second = setup({ restore: saved });
    expect(second.d.state()).toEqual(saved);
    expect(second.d.tick(T + 1_000 + HOLD)).toBe(true);
  });
});

describe('Detector: state across a restart', () => {
  it('a switch while it was down (a new pod given the other pool) closes the old primary’s failover as moot, and watches the new one', () => {
    const first = setup();
    first.at(0, served('blue'));
    first.at(1_000, failedOver());
    expect(first.active()).toEqual(['failover:blue']);
    const saved = JSON.parse(JSON.stringify(first.d.state()));
    const second = setup({ activePool: 'green', restore: saved });
    expect(second.view('failover:blue')).toMatchObject({ active: false, level: 'ok', primaryPool: 'green' });
    expect(second.d.primaryPool).toBe('green');
    // Green serving is the new normal, not a failover.
    expect(second.at(2_000, served('green'))).toBe(false);
    expect(second.active()).toEqual([]);
    // The same pool as before: the failover stays open.
    expect(setup({ restore: JSON.parse(JSON.stringify(saved)) }).active()).toEqual(['failover:blue']);
  });

  it('round-trips through a new Detector: pools, used switch ids, conditions with their holds and counts', () => {
    // Green is the primary after the planned switch: Nginx tries green first, then blue.
    const greenFailed = () => record({ pool: 'blue', upstreamStatuses: [500, 200], upstreamAddrs: [GREEN, BLUE] });
    const bothFailed = () =>
      record({ status: 503, pool: 'blue', upstreamStatuses: [500, 500], upstreamAddrs: [GREEN, BLUE] });
    const first = setup({ plannedSwitch: () => marker() });
    first.at(0, served('green')); // planned: green is the primary
    first.at(1_000, greenFailed()); // failover of green, blue serves
    first.at(3_000, bothFailed()); // outage
    first.at(4_000, served('green')); // green again: both holds start
    // Error rate, hidden from clients: blue's retries fail, green answers.
    feed(first.d, times(10, () => record({ pool: 'green', upstreamStatuses: [500, 200], upstreamAddrs: [BLUE, GREEN] })));
    first.clock.now = T + 5_000;
    const saved = first.d.state();
    expect(saved).toMatchObject({
      servingPool: 'green',
      primaryPool: 'green',
      usedSwitchIds: ['m1'],
      failover: { green: { active: true, since: T + 1_000, failures: 2, flips: 2, steadySince: T + 4_000 } },
      outage: { active: true, since: T + 3_000, failures: 1, steadySince: T + 4_000 },
      errorRate: { active: true, since: T + 4_000 },
    });
    expect(saved.failover.blue).toBeUndefined();

    // Started again with the pool Nginx publishes, green: the primary it saved.
    const second = setup({ activePool: 'green', plannedSwitch: () => marker(), restore: JSON.parse(JSON.stringify(saved)) });
    second.clock.now = T + 5_000;
    expect(second.d.state()).toEqual(saved);
    expect([second.d.servingPool, second.d.primaryPool]).toEqual(['green', 'green']);
    const essentials = (views: ConditionView[]) =>
      views.map(({ key, active, level, since, failures, flips, recentFlips, steadyForMs }) => ({
        key,
        active,
        level,
        since,
        failures,
        flips,
        recentFlips,
        steadyForMs,
      }));
    expect(essentials(second.d.conditions(T + 5_000))).toEqual(essentials(first.d.conditions(T + 5_000)));
    expect(second.active()).toEqual(['failover:green', 'outage', 'error_rate']);
    // The holds carry on where they were.
    expect(second.d.tick(T + 4_000 + HOLD - 1)).toBe(false);
    expect(second.d.tick(T + 4_000 + HOLD)).toBe(true);
    expect(second.active()).toEqual(['error_rate']);
    // The marker is still on disk, but used: coming back to green is a recovery, not a second planned switch.
    expect(second.at(20_000, served('blue'))).toBe(true);
    expect(second.at(21_000, served('green'))).toBe(true);
    expect(second.d.takeNotices()).toEqual([]);
    expect(second.view('failover:green')).toMatchObject({ active: true, level: 'recovering' });
  });

  // Regression (3d64290): the level was read off the window, which a restart
  // empties, so a client-visible incident came back as 'masked' and the first
  // tick told Slack "High error rate better: 0% of the last 0 requests failed".
  it('a restored client-visible error rate keeps its level while the window refills', () => {
    const first = setup();
    feed(first.d, times(10, clientError));
    expect(first.view('error_rate')?.level).toBe('client_visible');
    expect(first.d.state().errorRate).toMatchObject({ active: true, clientVisible: true });
    const second = setup({ restore: JSON.parse(JSON.stringify(first.d.state())) });
    expect(second.view('error_rate')).toMatchObject({ active: true, level: 'client_visible' });
    // A part-filled window changes nothing; the first full one decides again.
    feed(second.d, times(9, failedOver));
    expect(second.view('error_rate')?.level).toBe('client_visible');
    second.d.observe(failedOver());
    expect(second.view('error_rate')?.level).toBe('masked');
    expect(second.d.state().errorRate.clientVisible).toBe(false);
  });

  it('neither repeats nor forgets an open incident: a restored firing error rate waits for a full window', () => {
    const d = setup({
      restore: {
        servingPool: 'blue',
        primaryPool: 'blue',
        usedSwitchIds: [],
        failover: {},
        outage: { active: false, since: 0, failures: 0 },
        errorRate: { active: true, since: T - 60_000, failures: 7 },
      },
    });
    expect(feed(d.d, times(9, () => served('blue'))).some(Boolean)).toBe(false);
    expect(d.view('error_rate')).toMatchObject({ active: true, since: T - 60_000, failures: 7 });
    expect(d.d.observe(served('blue'))).toBe(true);
    expect(d.view('error_rate')?.active).toBe(false);
  });

  it('a restored failover stays open until the primary has served for a hold', () => {
    const d = setup({
      restore: {
        servingPool: 'green',
        primaryPool: 'blue',
        usedSwitchIds: [],
        failover: { blue: { active: true, since: T - 60_000, failures: 3, flips: 1, recentFlips: [T - 60_000] } },
        outage: { active: false, since: 0, failures: 0 },
        errorRate: { active: false, since: 0, failures: 0 },
      },
    });
    expect(d.view('failover:blue')).toMatchObject({ active: true, level: 'failing', failures: 3, flips: 1 });
    expect(d.d.tick(T + HOLD)).toBe(false);
    expect(d.at(1_000, served('blue'))).toBe(true);
    expect(d.d.tick(T + 1_000 + HOLD)).toBe(true);
    expect(d.view('failover:blue')).toMatchObject({ active: false, flips: 2 });
  });
});
