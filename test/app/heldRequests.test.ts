// A held request must be answered exactly once, by whichever of its timer,
// the shutdown or its client's leaving comes first, and leave no timer behind.
import { describe, expect, it } from 'vitest';
import { HeldRequests, RELEASED_BY_SHUTDOWN, type Timers } from '../../app/chaos.js';

function manualClock() {
  let now = 0;
  let nextId = 0;
  const pending = new Map<number, { fire: () => void; at: number }>();
  const timers: Timers = {
    set: (fire, ms) => {
      pending.set(nextId, { fire, at: now + ms });
      return nextId++;
    },
    clear: (timer) => void pending.delete(timer as number),
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const [id, t] of [...pending]) {
      if (t.at > now) continue;
      pending.delete(id);
      t.fire();
    }
  };
  return { timers, advance, scheduled: () => pending.size };
}

describe('HeldRequests', () => {
  it('answers a request once its hold is over, and only once', () => {
    const clock = manualClock();
    const held = new HeldRequests(1000, clock.timers);
    const answers: string[] = [];
    const forget = held.hold((reason) => answers.push(reason));
    clock.advance(999);
    expect(answers).toEqual([]);
    expect(held.size).toBe(1);
    clock.advance(1);
    expect(answers).toEqual(['held for 1000 ms']);
    expect(held.size).toBe(0);
    // The response's close event follows the answer.
    forget();
    clock.advance(10_000);
    expect(answers).toEqual(['held for 1000 ms']);
  });

  it('releases every held request at once on shutdown, cancelling their timers', () => {
    const clock = manualClock();
    const held = new HeldRequests(1000, clock.timers);
    const answers: string[] = [];
    held.hold((reason) => answers.push(`a: ${reason}`));
    clock.advance(500);
    held.hold((reason) => answers.push(`b: ${reason}`));
    held.releaseAll();
    expect(answers).toEqual([`a: ${RELEASED_BY_SHUTDOWN}`, `b: ${RELEASED_BY_SHUTDOWN}`]);
    expect(held.size).toBe(0);
    expect(clock.scheduled()).toBe(0);
    held.releaseAll();
    expect(answers).toHaveLength(2);
  });

  it('forgets a request whose client left, without answering it', () => {
    const clock = manualClock();
    const held = new HeldRequests(1000, clock.timers);
    const answers: string[] = [];
    const forget = held.hold((reason) => answers.push(reason));
    held.hold((reason) => answers.push(reason));
    forget();
    expect(held.size).toBe(1);
    expect(clock.scheduled()).toBe(1);
    clock.advance(1000);
    expect(answers).toEqual(['held for 1000 ms']);
  });
});
