import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OLD_WORKER_GRACE_MS, PoolFlipTracker } from '../../../watcher/detect/poolFlip.js';
import type { PlannedSwitch } from '../../../watcher/types.js';
import { noUpstream, ok, record } from './records.js';

const NOW = 1_800_000_000_000;
let now = NOW;
beforeEach(() => {
  now = NOW;
});
/** Past the grace in which the old pool may still finish a request after a planned switch. */
const pastTheGrace = () => {
  now += OLD_WORKER_GRACE_MS + 1_000;
};

function tracker(plannedSwitch: () => PlannedSwitch | undefined = () => undefined, activePool = 'blue') {
  return new PoolFlipTracker({ activePool, clock: () => now, plannedSwitch });
}

const marker = (fields: Partial<PlannedSwitch> = {}): PlannedSwitch => ({
  id: 'switch-1',
  from: 'blue',
  to: 'green',
  createdAt: NOW - 1_000,
  expiresAt: NOW + 60_000,
  ...fields,
});

describe('PoolFlipTracker', () => {
  it('starts serving the active pool, which is also the primary', () => {
    const t = tracker(undefined, 'green');
    expect([t.servingPool, t.primaryPool]).toEqual(['green', 'green']);
    expect(t.observe(ok('green'))).toBeUndefined();
  });

  it('reports a failover away from the primary, with both releases', () => {
    const t = tracker();
    t.observe(ok('blue'));
    expect(t.observe(ok('green'))).toEqual({
      kind: 'failover',
      from: 'blue',
      to: 'green',
      fromRelease: 'blue-v1',
      toRelease: 'green-v1',
    });
    expect([t.servingPool, t.primaryPool]).toEqual(['green', 'blue']);
  });

  it('reports the flip once, not for every line served by the new pool', () => {
    const t = tracker();
    expect(t.observe(ok('green'))?.kind).toBe('failover');
    expect(t.observe(ok('green'))).toBeUndefined();
    expect(t.observe(ok('green'))).toBeUndefined();
  });

  it('reports a recovery when traffic comes back to the primary', () => {
    const t = tracker();
    t.observe(ok('green'));
    expect(t.observe(ok('blue'))).toMatchObject({ kind: 'recovery', from: 'green', to: 'blue' });
    expect(t.servingPool).toBe('blue');
  });

  it('treats a move between two non-primary pools as a failover: the primary is still not serving', () => {
    const t = tracker();
    t.observe(ok('green'));
    expect(t.observe(ok('canary'))).toMatchObject({ kind: 'failover', from: 'green', to: 'canary' });
  });

  it('never flips on lines without a pool', () => {
    const plannedSwitch = vi.fn(() => undefined);
    const t = tracker(plannedSwitch);
    expect(t.observe(noUpstream())).toBeUndefined();
    expect(t.observe(record({ pool: undefined }))).toBeUndefined();
    expect(t.servingPool).toBe('blue');
    expect(plannedSwitch).not.toHaveBeenCalled();
  });

  it('reads the planned-switch marker only when a flip is seen', () => {
    const plannedSwitch = vi.fn(() => undefined);
    const t = tracker(plannedSwitch);
    for (let i = 0; i < 10; i++) t.observe(ok('blue'));
    expect(plannedSwitch).not.toHaveBeenCalled();
    t.observe(ok('green'));
    expect(plannedSwitch).toHaveBeenCalledTimes(1);
  });

  it('reports a planned switch, makes the new pool primary and consumes the marker once', () => {
    const t = tracker(() => marker());
    expect(t.observe(ok('green'))).toMatchObject({ kind: 'planned_switch', from: 'blue', to: 'green' });
    expect(t.primaryPool).toBe('green');
    pastTheGrace();
    // Back to blue is now a failover away from the new primary ...
    expect(t.observe(ok('blue'))?.kind).toBe('failover');
    // ... and the same marker does not excuse a second flip to green.
    expect(t.observe(ok('green'))?.kind).toBe('recovery');
    expect(t.observe(ok('blue'))?.kind).toBe('failover');
  });

  it('takes a clean answer from the pool Nginx published as its primary as a switch, with no marker', () => {
    let published = 'blue';
    const t = new PoolFlipTracker({ activePool: 'blue', clock: () => now, plannedSwitch: () => undefined, publishedPrimary: () => published });
    // Blue failing over to green: Nginx still names blue its primary.
    expect(t.observe(ok('green'))?.kind).toBe('failover');
    expect(t.observe(ok('blue'))?.kind).toBe('recovery');
    // The control file edited by hand: Nginx serves green and says so.
    published = 'green';
    expect(t.observe(record({ pool: 'green', upstreamStatuses: [502, 200] }))?.kind).toBe('failover');
    expect(t.observe(ok('blue'))?.kind).toBe('recovery');
    expect(t.observe(ok('green'))).toMatchObject({ kind: 'planned_switch', from: 'blue', to: 'green' });
    expect([t.servingPool, t.primaryPool]).toEqual(['green', 'green']);
  });

  describe('a switch to the backup while it serves (a rollback during a failover)', () => {
    // No answer changes pool: only Nginx's published primary can say the switch happened.
    let published: string | undefined;
    let announced: PlannedSwitch | undefined;
    /** Blue failed over to green; then `make switch POOL=green` announces its marker. */
    const during = () => {
      published = 'blue';
      announced = undefined;
      const t = new PoolFlipTracker({ activePool: 'blue', clock: () => now, plannedSwitch: () => announced, publishedPrimary: () => published });
      expect(t.observe(ok('green'))?.kind).toBe('failover');
      expect(t.observe(ok('green'))).toBeUndefined();
      announced = marker();
      return t;
    };

    it('makes the serving backup the primary once Nginx publishes it, and uses up the marker', () => {
      const t = during();
      published = 'green';
      expect(t.observe(ok('green'))).toMatchObject({ kind: 'planned_switch', from: 'blue', to: 'green' });
      expect([t.servingPool, t.primaryPool]).toEqual(['green', 'green']);
      expect(t.observe(ok('green'))).toBeUndefined();
      pastTheGrace();
      // The old primary answering later is a failover away from the new one.
      expect(t.observe(ok('blue'))?.kind).toBe('failover');
      expect(t.state().usedSwitchIds).toEqual(['switch-1']);
    });

    it('keeps the old primary while only a marker is announced: the switch may still fail', () => {
      const t = during();
      for (let i = 0; i < 5; i++) expect(t.observe(ok('green'))).toBeUndefined();
      expect(t.primaryPool).toBe('blue');
    });

    it('never takes a line with a failed attempt as the switch', () => {
      const t = during();
      published = 'green';
      expect(t.observe(record({ pool: 'green', upstreamStatuses: [500, 200] }))).toBeUndefined();
      expect(t.primaryPool).toBe('blue');
    });

    it('does not read the published primary while the primary itself serves', () => {
      const publishedPrimary = vi.fn(() => 'green');
      const t = new PoolFlipTracker({ activePool: 'blue', clock: () => now, plannedSwitch: () => undefined, publishedPrimary });
      for (let i = 0; i < 5; i++) expect(t.observe(ok('blue'))).toBeUndefined();
      expect(publishedPrimary).not.toHaveBeenCalled();
    });
  });

  describe("Nginx's old workers finishing requests after a planned switch", () => {
    const switched = () => {
      const t = tracker(() => marker());
      t.observe(ok('blue'));
      expect(t.observe(ok('green'))?.kind).toBe('planned_switch');
      return t;
    };

    it('ignore a clean answer from the old pool within the grace: green keeps serving', () => {
      const t = switched();
      now += OLD_WORKER_GRACE_MS;
      expect(t.observe(ok('blue'))).toBeUndefined();
      expect(t.observe(ok('green'))).toBeUndefined();
      expect([t.servingPool, t.primaryPool]).toEqual(['green', 'green']);
    });

    it('extend the grace by the request’s own duration: it began before the switch', () => {
      const t = switched();
      now += OLD_WORKER_GRACE_MS + 9_000;
      expect(t.observe(record({ requestMs: 10_000 }))).toBeUndefined();
      expect(t.observe(record({ requestMs: 500 }))?.kind).toBe('failover');
    });

    it('count a clean answer from the old pool past the grace as a failover', () => {
      const t = switched();
      now += OLD_WORKER_GRACE_MS + 5;
      expect(t.observe(ok('blue'))?.kind).toBe('failover');
    });

    it('never excuse an answer after a failed attempt on the new primary', () => {
      const t = switched();
      expect(t.observe(record({ upstreamStatuses: [502, 200] }))?.kind).toBe('failover');
      expect(t.servingPool).toBe('blue');
    });

    it('never excuse a pool that was not switched away from', () => {
      const t = switched();
      expect(t.observe(ok('canary'))?.kind).toBe('failover');
    });
  });

  it('accepts a new marker id after the first was consumed, even straight back', () => {
    let current = marker({ id: 'a' });
    const t = tracker(() => current);
    expect(t.observe(ok('green'))?.kind).toBe('planned_switch');
    current = marker({ id: 'b', from: 'green', to: 'blue' });
    expect(t.observe(ok('blue'))?.kind).toBe('planned_switch');
    expect(t.primaryPool).toBe('blue');
  });

  it.each([
    ['expired', marker({ expiresAt: NOW - 1 })],
    ['expiring right now', marker({ expiresAt: NOW })],
    ['for the other pool', marker({ to: 'red' })],
  ])('ignores a marker %s', (_, m) => {
    const t = tracker(() => m);
    expect(t.observe(ok('green'))?.kind).toBe('failover');
    expect(t.primaryPool).toBe('blue');
  });

  it('remembers the last release per pool for lines that lack one', () => {
    const t = tracker();
    t.observe(record({ pool: 'blue', release: 'blue-v7' }));
    t.observe(record({ pool: 'green', release: 'green-v3' }));
    t.observe(record({ pool: 'blue', release: undefined }));
    expect(t.observe(record({ pool: 'green', release: undefined }))).toMatchObject({
      from: 'blue',
      to: 'green',
      fromRelease: 'blue-v7',
      toRelease: 'green-v3',
    });
  });

  it("follows each pool's release through a deploy and a rollback", () => {
    const t = tracker();
    const line = (pool: string, release: string) => t.observe(record({ pool, release }));
    line('blue', 'blue-v1');
    line('blue', 'blue-v1');
    expect(line('green', 'green-v1')).toMatchObject({ fromRelease: 'blue-v1', toRelease: 'green-v1' });
    line('blue', 'blue-v2');
    line('blue', 'blue-v2');
    line('blue', 'blue-v1');
    expect(line('green', 'green-v1')).toMatchObject({ fromRelease: 'blue-v1', toRelease: 'green-v1' });
    expect(line('blue', 'blue-v1')).toMatchObject({ fromRelease: 'green-v1', toRelease: 'blue-v1' });
  });

  it('never changes the serving pool on a 5xx that reached the client, whatever header it carries', () => {
    const plannedSwitch = vi.fn(() => marker());
    const t = tracker(plannedSwitch);
    // Both pools failed: Nginx's 503 carries the header of the last failed attempt.
    expect(t.observe(record({ status: 503, pool: 'green', upstreamStatuses: [500, 500] }))).toBeUndefined();
    expect(t.observe(record({ status: 502, pool: 'green', upstreamStatuses: [502] }))).toBeUndefined();
    expect(t.observe(record({ status: 500, pool: 'green', upstreamStatuses: [500] }))).toBeUndefined();
    expect([t.servingPool, t.primaryPool]).toEqual(['blue', 'blue']);
    expect(plannedSwitch).not.toHaveBeenCalled();
    // A 4xx is an answer: the pool serves.
    expect(t.observe(record({ status: 404, pool: 'green', upstreamStatuses: [404] }))?.kind).toBe('planned_switch');
  });

  it('still learns the release from a 5xx line', () => {
    const t = tracker();
    t.observe(record({ status: 503, pool: 'green', release: 'green-v9', upstreamStatuses: [500, 500] }));
    expect(t.releaseOf('green')).toBe('green-v9');
    expect(t.observe(ok('green'))).toMatchObject({ kind: 'failover', toRelease: 'green-v1' });
  });

  it.each([
    ['a failed then retried attempt', [500, 200]],
    ['a timed-out attempt', [504, 200]],
    ['a failed attempt anywhere', [200, 502, 200]],
  ])('refuses a planned switch whose request had %s, and keeps the marker for a clean flip', (_, upstreamStatuses) => {
    const plannedSwitch = vi.fn(() => marker());
    const t = tracker(plannedSwitch);
    expect(t.observe(record({ pool: 'green', release: 'green-v1', upstreamStatuses }))?.kind).toBe('failover');
    expect(t.primaryPool).toBe('blue');
    expect(t.state().usedSwitchIds).toEqual([]);
    // The failure's flip did not consume the marker: the switch itself still counts.
    t.observe(ok('blue'));
    expect(t.observe(ok('green'))?.kind).toBe('planned_switch');
    expect(t.primaryPool).toBe('green');
  });

  it('does not read the marker for a flip with a failed attempt', () => {
    const plannedSwitch = vi.fn(() => marker());
    const t = tracker(plannedSwitch);
    t.observe(record({ pool: 'green', upstreamStatuses: [500, 200] }));
    expect(plannedSwitch).not.toHaveBeenCalled();
  });

  it('saves serving and primary pool and the used marker ids, and a restore wins over activePool', () => {
    let current = marker({ id: 'a' });
    const t = tracker(() => current);
    t.observe(ok('green'));
    current = marker({ id: 'b', to: 'blue' });
    t.observe(ok('blue'));
    t.observe(record({ pool: 'green', upstreamStatuses: [500, 200] }));
    expect(t.state()).toEqual({ servingPool: 'green', primaryPool: 'blue', usedSwitchIds: ['a', 'b'] });

    const restored = new PoolFlipTracker({
      activePool: 'green',
      clock: () => NOW,
      plannedSwitch: () => marker({ id: 'b', to: 'blue' }),
      restore: JSON.parse(JSON.stringify(t.state())),
    });
    expect([restored.servingPool, restored.primaryPool]).toEqual(['green', 'blue']);
    // Marker b is still on disk but used: the way back is a recovery.
    expect(restored.observe(ok('blue'))?.kind).toBe('recovery');
  });

  it('keeps the newest 16 used marker ids', () => {
    let n = 0;
    const t = tracker(() => marker({ id: `m${n}`, to: n % 2 === 0 ? 'green' : 'blue' }));
    for (; n < 20; n++) t.observe(ok(n % 2 === 0 ? 'green' : 'blue'));
    expect(t.state().usedSwitchIds).toEqual(Array.from({ length: 16 }, (_, i) => `m${i + 4}`));
  });

  it('leaves releases undefined when none was ever seen', () => {
    const t = tracker();
    expect(t.observe(record({ pool: 'green', release: undefined }))).toMatchObject({
      fromRelease: undefined,
      toRelease: undefined,
    });
  });
});
