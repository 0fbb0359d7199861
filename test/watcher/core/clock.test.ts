import { describe, expect, it } from 'vitest';
import { steadyClock } from '../../../watcher/clock.js';

describe('steady clock', () => {
  it('reads as the wall clock at start and advances with the monotonic clock, whatever the wall clock does', () => {
    let wall = Date.UTC(2026, 11, 6, 12);
    let mono = 5_000;
    const clock = steadyClock(() => wall, () => mono);
    expect(clock.now()).toBe(wall);
    mono += 1_000;
    wall += 1_000;
    expect(clock.now()).toBe(Date.UTC(2026, 11, 6, 12) + 1_000);
    // An hour's step forward, then a day's back: the steady clock moves by the 2 s that passed.
    wall += 3_600_000 + 1_000;
    mono += 1_000;
    expect(clock.now()).toBe(Date.UTC(2026, 11, 6, 12) + 2_000);
    expect(clock.drift()).toBe(3_600_000);
    wall -= 86_400_000;
    mono += 1_000;
    expect(clock.now()).toBe(Date.UTC(2026, 11, 6, 12) + 3_000);
  });

  it('converts a steady reading to the wall clock as of now', () => {
    let wall = 1_000_000;
    let mono = 0;
    const clock = steadyClock(() => wall, () => mono);
    const openedAt = clock.now();
    mono += 10_000;
    wall += 10_000 + 60_000; // stepped a minute forward meanwhile
    // Opened 10 s ago by the monotonic clock: 10 s before the wall clock's now.
    expect(clock.wallOf(openedAt)).toBe(wall - 10_000);
  });
});
