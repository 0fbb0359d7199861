// The invariant "Slack's latest word about a condition is the truth",
// checked by simulation rather than by examples: the real pipeline (detect,
// policy, wording, queue; test/watcher/core/sim.ts) on a simulated clock,
// driven by seeded random schedules of blue failing (wholly or in part) and
// healing, maintenance on and off, Slack refusing messages, and restarts
// from the saved state. After every schedule a healthy tail, and then:
//   - no all-clear was delivered while blue was still failing (within its hold);
//   - nothing was announced twice as new without an all-clear between;
//   - once all heal, the latest delivered word is the all-clear.
// A failure prints its seed, its schedule and that schedule shrunk (segments
// dropped, shortened, their faults turned off, while it still fails), each of
// which replays exactly:
//   SIM_SEED=<seed> npx vitest run --project unit test/watcher/core/truth.sim.test.ts
//   SIM_SCHEDULE='<json>' npx vitest run --project unit test/watcher/core/truth.sim.test.ts
// With a bug planted (a lost message no longer counted as a difference from
// Slack's word), seed 20261221 fails and shrinks to two segments: 1 s of blue
// failing 60%, then 10 s of Slack refusing, "Failover detected" left as the
// last word.
// `npm run sim` runs 20,000 (SIM_SCHEDULES=<n> sets how many); the unit tests
// run 400, about 6 s. With the maintenance fix of issue 22 reverted, it fails
// within 70 schedules (seed 20261267: "Failover update: blue flapping …" left
// as the last word after a summary that was not delivered).
import { describe, expect, it } from 'vitest';
import type { PipelineState } from '../../../watcher/pipeline.js';
import { rng } from '../../../testkit/rng.js';
import { shrink } from '../../support/shrink.js';
import { failedOver, served, Sim } from './sim.js';

const HOLD_SEC = 10;
const PER_SECOND = 5;

interface Segment {
  seconds: number;
  /** Share of requests blue fails (0: healthy); undefined: no traffic at all. */
  failing: number | undefined;
  maintenance: boolean;
  slackDown: boolean;
  restartAfter: boolean;
}

interface Schedule {
  seed: number;
  cooldownSec: number;
  segments: Segment[];
}

function schedule(seed: number): Schedule {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const segments: Segment[] = [];
  const n = 3 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const kind = r();
    segments.push({
      seconds: 1 + Math.floor(r() * 40),
      failing: kind < 0.15 ? undefined : kind < 0.55 ? 0 : pick([0.3, 0.6, 0.9, 1]),
      maintenance: r() < 0.2,
      slackDown: r() < 0.2,
      restartAfter: r() < 0.15,
    });
  }
  return { seed, cooldownSec: pick([0, 5, 30]), segments };
}

type Word = 'failing' | 'clear';

/** What a delivered headline says about blue's failover; undefined when it says nothing about it. */
function wordOf(text: string): Word | undefined {
  if (/^(Recovered|Failover closed|Maintenance ended: nothing is open)/.test(text)) return 'clear';
  if (/^(Failover|Maintenance ended: \d+ incidents? open)/.test(text)) return 'failing';
  return undefined;
}

interface Delivered {
  at: number;
  text: string;
}

async function run(s: Schedule): Promise<{ delivered: Delivered[]; lastFailureSec: number }> {
  const delivered: Delivered[] = [];
  let slackDown = false;
  let lastFailureSec = -Infinity;
  let restore: PipelineState | undefined;
  let startSec = 0;
  const make = () => {
    const sim = new Sim({
      cooldownMs: s.cooldownSec * 1000,
      recoveryHoldMs: HOLD_SEC * 1000,
      // Failovers only: a failure share never opens an error-rate incident of its own.
      thresholdPercent: 100,
      restore,
      startSec,
      answer: () => {
        const received = sim.received.at(-1)!;
        if (!slackDown) delivered.push({ at: received.at, text: received.text });
        return slackDown ? 'failed' : 'delivered';
      },
    });
    return sim;
  };
  let sim = make();
  const tail: Segment = { seconds: HOLD_SEC + s.cooldownSec + 10, failing: 0, maintenance: false, slackDown: false, restartAfter: false };
  for (const seg of [...s.segments, tail]) {
    sim.maintenanceOn = seg.maintenance;
    slackDown = seg.slackDown;
    const until = Math.floor(sim.t) + seg.seconds;
    if (seg.failing === undefined) await sim.idle(until);
    else {
      const share = seg.failing;
      await sim.run(until, PER_SECOND, (i, sec) => {
        // The first `share` of each second's requests fail over: a partial share flaps.
        const fails = i % PER_SECOND < Math.round(share * PER_SECOND);
        if (fails) lastFailureSec = Math.max(lastFailureSec, sec + 1);
        return fails ? failedOver() : served('blue');
      });
    }
    if (seg.restartAfter) {
      restore = sim.pipeline.state();
      startSec = sim.t;
      sim = make();
    }
  }
  return { delivered, lastFailureSec };
}

function check(s: Schedule, delivered: readonly Delivered[], lastFailureSec: number, failures: number[][]): string | undefined {
  const words = delivered.map((d) => ({ ...d, word: wordOf(d.text) })).filter((d) => d.word !== undefined);
  // No all-clear while blue still failed within its hold (a second's slack for the tick).
  for (const w of words) {
    if (w.word !== 'clear') continue;
    const failedWithin = failures.some(([from, to]) => from! < w.at && to! > w.at - HOLD_SEC + 1);
    if (failedWithin) return `all-clear "${w.text}" at ${w.at} s while blue failed within its hold`;
  }
  // Nothing announced twice as new without an all-clear between.
  let open = false;
  for (const w of words) {
    if (/^Failover detected/.test(w.text)) {
      if (open) return `"${w.text}" at ${w.at} s, with no all-clear since the last opening`;
      open = true;
    } else if (w.word === 'clear') open = false;
  }
  // Once all healed: the latest word is the all-clear.
  const last = words.at(-1);
  if (last !== undefined && last.word !== 'clear') return `the latest word is "${last.text}" (at ${last.at} s), blue healthy since ${lastFailureSec} s`;
  return undefined;
}

/** What is wrong with how `s` ends, or undefined when the invariant holds. */
async function problemOf(s: Schedule): Promise<string | undefined> {
  const { delivered, lastFailureSec } = await run(s);
  return check(s, delivered, lastFailureSec, failingSpans(s));
}

const FAULTS = ['maintenance', 'slackDown', 'restartAfter'] as const;

/** A segment made smaller: half as long, or one of its faults turned off. */
const segmentVariants = (seg: Segment): Segment[] => [
  ...(seg.seconds > 1 ? [{ ...seg, seconds: Math.ceil(seg.seconds / 2) }] : []),
  ...FAULTS.filter((k) => seg[k]).map((k) => ({ ...seg, [k]: false })),
];

/** The seconds [from, to) in which blue failed, from the schedule. */
function failingSpans(s: Schedule): number[][] {
  const spans: number[][] = [];
  let t = 0;
  for (const seg of s.segments) {
    if (seg.failing !== undefined && seg.failing > 0) spans.push([t, t + seg.seconds]);
    t += seg.seconds;
  }
  return spans;
}

describe('simulation: Slack’s latest word is the truth', () => {
  const only = process.env.SIM_SEED;
  const given = process.env.SIM_SCHEDULE === undefined ? undefined : (JSON.parse(process.env.SIM_SCHEDULE) as Schedule);
  const count = Number(process.env.SIM_SCHEDULES ?? 400);
  const seeds = given !== undefined ? [given.seed] : only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => 20_261_206 + i);

  it(`holds over ${seeds.length} random schedules of failures, heals, maintenance, Slack outages and restarts`, async () => {
    let ran = 0;
    let announced = 0;
    for (const seed of seeds) {
      const s = given ?? schedule(seed);
      const { delivered, lastFailureSec } = await run(s);
      const problem = check(s, delivered, lastFailureSec, failingSpans(s));
      if (problem !== undefined) {
        const shrunk = await shrink(s, async (c) => (await problemOf(c)) !== undefined, segmentVariants);
        expect.fail(
          `seed ${seed}: ${problem}\nschedule: ${JSON.stringify(s)}\ndelivered: ${JSON.stringify(delivered)}\n` +
            `shrunk (${await problemOf(shrunk)}): SIM_SCHEDULE='${JSON.stringify(shrunk)}'`,
        );
      }
      ran++;
      if (delivered.some((d) => /^Failover detected/.test(d.text))) announced++;
    }
    // The schedules must exercise the invariant, not pass vacuously.
    expect(ran).toBe(seeds.length);
    if (only === undefined && given === undefined) expect(announced).toBeGreaterThan(seeds.length / 3);
    console.log(`[sim] ${ran} schedules, ${announced} with a failover announced`);
  }, Math.max(20_000, seeds.length * 50));

  it('shrinks a failing schedule to a small one that still fails', async () => {
    const segment = (fields: Partial<Segment>): Segment => ({ seconds: 8, failing: 0, maintenance: false, slackDown: false, restartAfter: false, ...fields });
    const big: Schedule = {
      seed: 1,
      cooldownSec: 5,
      segments: [segment({ failing: 1 }), segment({ slackDown: true, seconds: 30, maintenance: true }), segment({ restartAfter: true }), segment({ failing: 0.3 })],
    };
    // "Fails" while a Slack outage of at least 5 s remains: the rest is noise to shrink away.
    const fails = async (s: Schedule) => s.segments.some((g) => g.slackDown && g.seconds >= 5);
    const shrunk = await shrink(big, fails, segmentVariants);
    expect(shrunk.segments).toEqual([segment({ slackDown: true, seconds: 8 })]);
  });
});
