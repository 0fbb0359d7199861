// When the source looks again, with fake timers, a hand-driven monotonic
// clock and a stand-in for fs.watch: the gaps startSource's tests can only
// see as latencies.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { BUSY_GAP_MS, BUSY_POLLS, HINT_GAP_MS, PollSchedule } from '../../../watcher/source/pollSchedule.js';

const watches = vi.hoisted(() => ({
  listener: undefined as ((event: string, name: string | null) => void) | undefined,
  open: 0,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const watch = (_dir: string, _opts: unknown, listener: (event: string, name: string | null) => void) => {
    watches.listener = listener;
    watches.open++;
    return { on: () => undefined, close: () => void watches.open-- };
  };
  return { ...fs, default: { ...fs, watch }, watch };
});

const POLL_MS = 500;
let now: number;
let schedule: PollSchedule;

beforeEach(() => {
  vi.useFakeTimers();
  now = 0;
  watches.open = 0;
  schedule = new PollSchedule({
    dir: '/logs',
    pollIntervalMs: POLL_MS,
    log: createLogger('test', 'silent'),
    monotonic: () => now,
    concerns: (name) => name === 'access.log',
  });
  schedule.watch();
});
afterEach(() => {
  schedule.close();
  vi.useRealTimers();
});

/** Starts a sleep; `woke()` says whether it has ended. */
function sleep(): () => boolean {
  let ended = false;
  void schedule.sleep().then(() => (ended = true));
  return () => ended;
}

/** Lets `ms` pass on both clocks. */
async function pass(ms: number): Promise<void> {
  now += ms;
  await vi.advanceTimersByTimeAsync(ms);
}

describe('PollSchedule', () => {
  it('sleeps the poll interval when nothing changed', async () => {
    schedule.beginPoll();
    expect(schedule.shouldSleep(0, false)).toBe(true);
    const woke = sleep();
    await pass(POLL_MS - 1);
    expect(woke()).toBe(false);
    await pass(1);
    expect(woke()).toBe(true);
  });

  it('a change to the log ends the sleep HINT_GAP_MS after the poll began; a change to another file does not', async () => {
    schedule.beginPoll();
    schedule.shouldSleep(0, false);
    await pass(5);
    const woke = sleep();
    watches.listener?.('change', 'other.log');
    await pass(HINT_GAP_MS);
    expect(woke()).toBe(false);
    watches.listener?.('change', 'access.log');
    // The gap has passed since the poll began: at once.
    await pass(0);
    expect(woke()).toBe(true);
  });

  it('a change during the poll shortens the sleep that follows it', async () => {
    schedule.beginPoll();
    watches.listener?.('rename', 'access.log');
    await pass(5);
    schedule.shouldSleep(10, false);
    const woke = sleep();
    await pass(HINT_GAP_MS - 6);
    expect(woke()).toBe(false);
    await pass(1);
    expect(woke()).toBe(true);
  });

  it('`soon` (a rotated file settling) looks again after the gap, unasked', async () => {
    schedule.beginPoll();
    schedule.shouldSleep(0, true);
    const woke = sleep();
    await pass(HINT_GAP_MS);
    expect(woke()).toBe(true);
  });

  it('busy for BUSY_POLLS polls: stops watching and polls BUSY_GAP_MS apart; a poll that reads nothing watches again and polls at once', async () => {
    for (let i = 1; i < BUSY_POLLS; i++) {
      schedule.beginPoll();
      expect(schedule.shouldSleep(100, false)).toBe(true);
      expect(watches.open).toBe(1);
    }
    schedule.beginPoll();
    expect(schedule.shouldSleep(100, false)).toBe(true);
    expect(watches.open).toBe(0);
    expect(schedule.armed).toBe(true);
    await pass(30);
    const woke = sleep();
    await pass(BUSY_GAP_MS - 31);
    expect(woke()).toBe(false);
    await pass(1);
    expect(woke()).toBe(true);

    schedule.beginPoll();
    expect(schedule.shouldSleep(0, false)).toBe(false);
    expect(watches.open).toBe(1);
  });

  it('interrupt ends a sleep at once', async () => {
    schedule.beginPoll();
    schedule.shouldSleep(0, false);
    const woke = sleep();
    schedule.interrupt();
    await pass(0);
    expect(woke()).toBe(true);
  });
});
