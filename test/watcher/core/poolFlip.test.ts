import { describe, expect, it, vi } from 'vitest';
import { PoolFlipTracker } from '../../../watcher/detect/poolFlip.js';
import type { PlannedSwitch } from '../../../watcher/types.js';
import { noUpstream, ok, record } from './records.js';

const NOW = 1_800_000_000_000;

function tracker(plannedSwitch: () => PlannedSwitch | undefined = () => undefined, activePool = 'blue') {
  return new PoolFlipTracker({ activePool, clock: () => NOW, plannedSwitch });
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
    // Back to blue is now a failover away from the new primary ...
    expect(t.observe(ok('blue'))?.kind).toBe('failover');
    // ... and the same marker does not excuse a second flip to green.
    expect(t.observe(ok('green'))?.kind).toBe('recovery');
    expect(t.observe(ok('blue'))?.kind).toBe('failover');
  });

  it('accepts a new marker id after the first was consumed', () => {
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

  it('leaves releases undefined when none was ever seen', () => {
    const t = tracker();
    expect(t.observe(record({ pool: 'green', release: undefined }))).toMatchObject({
      fromRelease: undefined,
      toRelease: undefined,
    });
  });
});
