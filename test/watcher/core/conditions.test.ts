// Conditions with a lifetime: open at the first failure, resolved only after a
// steady hold; the failover condition also counts pool changes and flapping.
import { describe, expect, it } from 'vitest';
import { FailoverCondition, FLAP_FLIPS, FLAP_WINDOW_MS, FLIPS_KEPT, HeldCondition } from '../../../watcher/detect/conditions.js';

const HOLD = 10_000;
const T = 1_800_000_000_000;

describe('HeldCondition', () => {
  it('starts inactive, never opened, at level ok', () => {
    const c = new HeldCondition(HOLD);
    expect([c.active, c.since, c.failures, c.recovering]).toEqual([false, 0, 0, false]);
    expect(c.level('failing')).toBe('ok');
    expect(c.steadyFor(T)).toBeUndefined();
    expect(c.snapshot()).toEqual({ active: false, since: 0, failures: 0 });
  });

  it('opens at the first failure and counts the later ones without reopening', () => {
    const c = new HeldCondition(HOLD);
    expect(c.fail(T)).toBe(true);
    expect(c.fail(T + 1_000)).toBe(false);
    expect(c.fail(T + 2_000)).toBe(false);
    expect([c.active, c.since, c.failures]).toEqual([true, T, 3]);
    expect(c.level('down')).toBe('down');
  });

  it('resolves only after holdMs of steady service, via tick', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    c.served(T + 1_000);
    expect(c.recovering).toBe(true);
    expect(c.level('failing')).toBe('recovering');
    expect(c.steadyFor(T + 4_000)).toBe(3_000);
    // A later good request does not restart the hold.
    c.served(T + 5_000);
    expect(c.tick(T + 1_000 + HOLD - 1)).toBe(false);
    expect(c.active).toBe(true);
    expect(c.tick(T + 1_000 + HOLD)).toBe(true);
    expect([c.active, c.since, c.failures, c.recovering]).toEqual([false, T + 1_000 + HOLD, 1, false]);
    expect(c.level('failing')).toBe('ok');
    // Resolved once: a second tick says nothing.
    expect(c.tick(T + 60_000)).toBe(false);
  });

  it('stays open without traffic: silence is not evidence of health', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    expect(c.tick(T + 3_600_000)).toBe(false);
    expect(c.active).toBe(true);
    expect(c.level('failing')).toBe('failing');
  });

  it('a failure during the hold stops it; the next good request starts it over', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    c.served(T + 1_000);
    expect(c.fail(T + 8_000)).toBe(false);
    expect(c.recovering).toBe(false);
    expect(c.level('failing')).toBe('failing');
    expect(c.tick(T + 1_000 + HOLD)).toBe(false);
    c.served(T + 9_000);
    expect(c.tick(T + 9_000 + HOLD - 1)).toBe(false);
    expect(c.tick(T + 9_000 + HOLD)).toBe(true);
    expect(c.failures).toBe(2);
  });

  it('ignores good requests while inactive', () => {
    const c = new HeldCondition(HOLD);
    c.served(T);
    expect(c.recovering).toBe(false);
    expect(c.tick(T + HOLD)).toBe(false);
    expect(c.snapshot()).toEqual({ active: false, since: 0, failures: 0 });
  });

  it('count(): counts a failure and stops the hold, but opens nothing', () => {
    const idle = new HeldCondition(HOLD);
    idle.count();
    expect([idle.active, idle.since, idle.failures]).toEqual([false, 0, 1]);

    const open = new HeldCondition(HOLD);
    open.fail(T);
    open.served(T + 1_000);
    open.count();
    expect([open.active, open.failures, open.recovering]).toEqual([true, 2, false]);
    expect(open.tick(T + 1_000 + HOLD)).toBe(false);
  });

  it('interrupt(): opens without counting a failure, and stops a running hold', () => {
    const c = new HeldCondition(HOLD);
    expect(c.interrupt(T)).toBe(true);
    expect([c.active, c.since, c.failures]).toEqual([true, T, 0]);
    c.served(T + 1_000);
    expect(c.interrupt(T + 2_000)).toBe(false);
    expect(c.recovering).toBe(false);
    expect(c.since).toBe(T);
  });

  it('keeps failures over its whole life, across resolving and reopening', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    c.served(T);
    c.tick(T + HOLD);
    expect(c.fail(T + 20_000)).toBe(true);
    expect([c.since, c.failures]).toEqual([T + 20_000, 2]);
  });

  it('resolve(): ends it at once, without a hold', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    c.resolve(T + 1);
    expect([c.active, c.since, c.failures]).toEqual([false, T + 1, 1]);
  });

  it('restores from a snapshot, which is a copy', () => {
    const c = new HeldCondition(HOLD);
    c.fail(T);
    c.served(T + 2_000);
    const saved = c.snapshot();
    expect(saved).toEqual({ active: true, since: T, failures: 1, steadySince: T + 2_000 });
    saved.failures = 99;
    expect(c.failures).toBe(1);

    const restored = new HeldCondition(HOLD, JSON.parse(JSON.stringify(c.snapshot())));
    expect(restored.snapshot()).toEqual(c.snapshot());
    // The hold carries on from where it was.
    expect(restored.tick(T + 2_000 + HOLD)).toBe(true);
  });
});

describe('FailoverCondition', () => {
  it('counts pool changes over its life and within the flap window', () => {
    const c = new FailoverCondition(HOLD);
    c.interrupt(T);
    c.flipped(T);
    c.flipped(T + 1_000);
    expect(c.totalFlips).toBe(2);
    expect(c.flipsRecently(T + 1_000)).toBe(2);
    // Exactly FLAP_WINDOW_MS later the first one has left the window.
    expect(c.flipsRecently(T + FLAP_WINDOW_MS)).toBe(1);
    expect(c.flipsRecently(T + 1_000 + FLAP_WINDOW_MS)).toBe(0);
    expect(c.totalFlips).toBe(2);
  });

  it(`is flapping at ${FLAP_FLIPS} changes within the window, and failing again once they age out`, () => {
    const c = new FailoverCondition(HOLD);
    c.fail(T);
    for (let i = 0; i < FLAP_FLIPS - 1; i++) c.flipped(T + i * 60_000);
    const last = T + (FLAP_FLIPS - 1) * 60_000;
    expect(c.currentLevel(last)).toBe('failing');
    c.flipped(last);
    expect(c.currentLevel(last)).toBe('flapping');
    // The first change ages out of the window.
    expect(c.currentLevel(T + FLAP_WINDOW_MS - 1)).toBe('flapping');
    expect(c.currentLevel(T + FLAP_WINDOW_MS)).toBe('failing');
  });

  it('is recovering, not flapping, while the hold runs; ok once resolved', () => {
    const c = new FailoverCondition(HOLD);
    c.fail(T);
    for (let i = 0; i < FLAP_FLIPS; i++) c.flipped(T + i);
    expect(c.currentLevel(T + FLAP_FLIPS)).toBe('flapping');
    c.served(T + 100);
    expect(c.currentLevel(T + 100)).toBe('recovering');
    c.tick(T + 100 + HOLD);
    expect(c.currentLevel(T + 100 + HOLD)).toBe('ok');
  });

  it('keeps only the last FLIPS_KEPT change times, counts them all in the window, and restores them', () => {
    const c = new FailoverCondition(HOLD);
    c.fail(T);
    for (let i = 0; i < FLIPS_KEPT + 4; i++) c.flipped(T + i * 1_000);
    const saved = c.snapshot();
    expect(saved.flips).toBe(FLIPS_KEPT + 4);
    expect(saved.recentFlips).toEqual(Array.from({ length: FLIPS_KEPT }, (_, i) => T + (i + 4) * 1_000));
    // The message's count is not capped at the flapping threshold.
    expect(c.flipsRecently(T + (FLIPS_KEPT + 3) * 1_000)).toBe(FLIPS_KEPT);
    expect(saved).toMatchObject({ active: true, since: T, failures: 1 });

    const restored = new FailoverCondition(HOLD, JSON.parse(JSON.stringify(saved)));
    expect(restored.snapshot()).toEqual(saved);
    expect(restored.currentLevel(T + 20_000)).toBe('flapping');
    // A saved list longer than it should be is cut to the newest.
    const long = { ...saved, recentFlips: Array.from({ length: FLIPS_KEPT + 3 }, (_, i) => T + i) };
    expect(new FailoverCondition(HOLD, long).snapshot().recentFlips).toEqual(long.recentFlips.slice(-FLIPS_KEPT));
  });

  it('starts the flapping count afresh with each new incident', () => {
    const c = new FailoverCondition(HOLD);
    c.fail(T);
    for (let i = 0; i < FLAP_FLIPS; i++) c.flipped(T + i);
    c.served(T + 100);
    c.tick(T + 100 + HOLD);
    expect(c.active).toBe(false);
    c.fail(T + 200 + HOLD);
    c.flipped(T + 200 + HOLD);
    expect(c.flipsRecently(T + 200 + HOLD)).toBe(1);
    expect(c.currentLevel(T + 200 + HOLD)).toBe('failing');
  });

  it('restores a state without flip history as none', () => {
    const c = new FailoverCondition(HOLD, { active: true, since: T, failures: 0, flips: 0, recentFlips: [] });
    expect([c.totalFlips, c.flipsRecently(T), c.currentLevel(T)]).toEqual([0, 0, 'failing']);
  });
});
