// The pipeline's clock. Durations (recovery holds, cooldowns, reminders,
// resends) must not jump when the wall clock is stepped (NTP, a VM resumed,
// an operator's `date -s`): a step forward past a hold would resolve an
// incident after one good answer, a step back would stop the re-sends. So
// the pipeline runs on epoch-like milliseconds that read as the wall clock
// at start and then advance with the monotonic clock, as Go's time.Time
// carries a monotonic reading beside the wall one. Times shown to people and
// sent as startsAt/endsAt are converted to the wall clock at the moment of
// use (wallOf), so they stay right after a step.
import type { Clock } from './types.js';

export interface SteadyClock {
  /** Epoch ms that never jump: the wall clock at start, advanced by the monotonic clock. */
  now: Clock;
  /** The wall-clock time, now, of a `now()` reading. */
  wallOf(steady: number): number;
  /** How far the wall clock has moved from the steady one since start, in ms (positive: stepped forward). */
  drift(): number;
}

export function steadyClock(wall: Clock = Date.now, monotonic: () => number = () => performance.now()): SteadyClock {
  const anchor = wall() - monotonic();
  const now = () => Math.round(anchor + monotonic());
  return {
    now,
    wallOf: (steady) => wall() - (now() - steady),
    drift: () => wall() - now(),
  };
}
