// The invariant through Alertmanager, by simulation: two watchers (two Nginx
// of one stack), each the real pipeline and the real Alertmanager notifier
// (notify/alertmanager.ts, its HTTP exchange standing in for the network,
// its timers on vitest's fake clock), posting to a model of Alertmanager
// (test/support/alertmanagerModel.ts: store merge, groups, dedup, silences).
// Seeded random schedules of blue failing (wholly or in part) and healing,
// one watcher's traffic cut off (it sees nothing heal), Alertmanager out of
// the watchers' reach (it runs on: an alert not re-sent expires, told as "no
// longer reported", never as an all-clear) or restarted (its alerts lost),
// and watchers restarting from their saved state. Checked on what the
// receiver heard of the failover's group:
//   - no all-clear ("Recovered") while a watcher has seen blue failing for
//     longer than a group tick (each watcher's alert is its own: one
//     all-clear cannot close another's failure), except within a resend of
//     an Alertmanager restart, which loses every alert it held until each
//     watcher posts again (docs/alertmanager.md says so);
//   - no firing after an all-clear unless a watcher saw a new failure (or
//     the all-clear was that restart's);
//   - once all heal, the latest word is the all-clear (or the incident told
//     after the fact, over), and nothing is active.
// A failure prints its seed, its schedule and that schedule shrunk;
// SIM_SEED=<seed> or SIM_SCHEDULE='<json>' replays it;
// `npm run sim:alertmanager` runs 1,500 (SIM_SCHEDULES sets how many).
//
// Found by it, fixed, and kept below as cases (FOUND):
//   - 20261315: an open alert Alertmanager let expire while out of reach, then
//     resolved: its end notified nothing, "no longer reported" stayed the
//     last word. Now told after the fact.
//   - 20261720: a watcher restarted during its incident's hold: its first
//     look saw the incident resolved, untracked, and never posted the end.
//     Now the restored conditions are tracked from the start.
//   - 20262551: Alertmanager restarted after taking a resolution, before
//     flushing it (it keeps alerts in memory only). Now a resolution is
//     re-posted at each resend for four resends.
//   - 20262243: one watcher's expiry and another's all-clear in one group
//     were titled "Recovered". Now any expiry names the group's end.
// Left, at schedule 1,638 of 5,000 (seed 20262938): a watcher restarted
// while out of Alertmanager's reach, after its incident resolved and before
// its alert expired there, ends on "no longer reported" rather than the
// all-clear: the notifier's record of what each Alertmanager took is not
// saved across restarts. Shrunk: 1 s of blue failing seen by b alone, 17 s
// of Alertmanager out of reach, b restarted.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { ConditionView } from '../../../watcher/detect/index.js';
import { createAlertmanagerNotifier, type AlertmanagerNotifier } from '../../../watcher/notify/alertmanager.js';
import { GROUP_BY, type AlertmanagerAlert } from '../../../watcher/notify/alertmanagerAlert.js';
import type { HttpAnswer } from '../../../watcher/notify/http.js';
import type { PipelineState } from '../../../watcher/pipeline.js';
import { AlertmanagerModel } from '../../support/alertmanagerModel.js';
import { rng } from '../../../testkit/rng.js';
import { shrink } from '../../support/shrink.js';
import { failedOver, served, Sim, T0 } from './sim.js';

const HOLD_SEC = 10;
const RESEND_MS = 5_000;
const GROUP_INTERVAL_MS = 4_000;
const PER_SECOND = 4;
const WATCHERS = ['a', 'b'] as const;
type Watcher = (typeof WATCHERS)[number];

interface Segment {
  seconds: number;
  /** Share of requests blue fails (0: healthy). */
  failing: number;
  /** Watchers whose Nginx gets no request in this segment. */
  quiet: Watcher[];
  alertmanagerDown: boolean;
  /** Alertmanager restarts at the segment's start (its alerts are lost). */
  alertmanagerRestart: boolean;
  restart: Watcher[];
}

interface Schedule {
  seed: number;
  segments: Segment[];
}

function schedule(seed: number): Schedule {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const some = (p: number) => WATCHERS.filter(() => r() < p);
  const segments: Segment[] = [];
  const n = 3 + Math.floor(r() * 7);
  for (let i = 0; i < n; i++) {
    segments.push({
      seconds: 1 + Math.floor(r() * 40),
      failing: r() < 0.5 ? 0 : pick([0.25, 0.5, 1]),
      quiet: some(0.2),
      alertmanagerDown: r() < 0.2,
      alertmanagerRestart: r() < 0.1,
      restart: some(0.1),
    });
  }
  return { seed, segments };
}

interface Heard {
  at: number;
  /**
   * An all-clear ("Recovered…"), firing, an alert that expired ("… no longer
   * reported": no claim either way), or an incident told after the fact (over).
   */
  word: 'firing' | 'clear' | 'expired' | 'past';
}

interface Run {
  heard: Heard[];
  /** Per watcher: when its failover opened, and the spans it was open [from, to). */
  open: Record<Watcher, [number, number][]>;
  active: Record<string, string>[];
  endAt: number;
  /** When Alertmanager restarted. */
  restarts: number[];
}

async function run(s: Schedule): Promise<Run> {
  const model = new AlertmanagerModel({ groupBy: GROUP_BY, groupWaitMs: 1_000, groupIntervalMs: GROUP_INTERVAL_MS, repeatIntervalMs: 3_600_000 });
  let amDown = false;
  let now = T0;
  const open: Run['open'] = { a: [], b: [] };
  const watchers = new Map<Watcher, { sim: Sim; notifier: AlertmanagerNotifier; restore?: PipelineState }>();

  const start = (w: Watcher, restore?: PipelineState) => {
    // The watcher's own clock, the one its pipeline runs on: one host's, shared with Alertmanager.
    const clock = () => watchers.get(w)?.sim.clock() ?? now;
    const call = async (_url: URL | string, req: { body?: string }): Promise<HttpAnswer> => {
      if (amDown) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const alerts = JSON.parse(req.body ?? '[]') as AlertmanagerAlert[];
      model.post(alerts, clock());
      return { status: 200, headers: {}, body: '', cut: false };
    };
    const notifier = createAlertmanagerNotifier({
      urls: ['http://alertmanager:9093'],
      stack: 'sim',
      instance: w,
      resendMs: RESEND_MS,
      timeoutMs: 1_000,
      retryForMs: 600_000,
      logger: createLogger('sim', 'silent'),
      clock,
      random: () => 0.5,
      call,
    });
    const observe = (views: readonly ConditionView[], maintenance?: boolean) => {
      // The truth: when this watcher's failover of blue was open.
      const view = views.find((v) => v.key === 'failover:blue');
      const spans = open[w];
      const last = spans.at(-1);
      if (view?.active && (last === undefined || last[1] !== Infinity)) spans.push([view.since, Infinity]);
      else if (!view?.active && last !== undefined && last[1] === Infinity) last[1] = view?.since ?? now;
      notifier.observe(views, maintenance);
    };
    const sim = new Sim({
      cooldownMs: 0,
      recoveryHoldMs: HOLD_SEC * 1000,
      thresholdPercent: 100,
      restore,
      startSec: (now - T0) / 1000,
      alertmanager: { observe, observeRestored: (views, m) => notifier.observeRestored(views, m), observePast: (past) => notifier.observePast(past) },
    });
    watchers.set(w, { sim, notifier });
  };
  for (const w of WATCHERS) start(w);
  const restarts: number[] = [];

  const tail: Segment = { seconds: HOLD_SEC + 4 * RESEND_MS / 1000 + 10, failing: 0, quiet: [], alertmanagerDown: false, alertmanagerRestart: false, restart: [] };
  for (const seg of [...s.segments, tail]) {
    amDown = seg.alertmanagerDown;
    if (seg.alertmanagerRestart) {
      model.restart();
      restarts.push(now);
    }
    for (const w of seg.restart) {
      const old = watchers.get(w)!;
      await old.notifier.close(0);
      start(w, old.sim.pipeline.state());
    }
    for (let k = 0; k < seg.seconds; k++) {
      const second = (now - T0) / 1000;
      for (const w of WATCHERS) {
        const { sim } = watchers.get(w)!;
        if (seg.quiet.includes(w)) await sim.idle(second + 1);
        else await sim.run(second + 1, PER_SECOND, (i) => (i % PER_SECOND < Math.round(seg.failing * PER_SECOND) ? failedOver() : served('blue')));
      }
      now += 1000;
      await vi.advanceTimersByTimeAsync(1000);
      model.advance(now);
    }
  }
  for (const { notifier } of watchers.values()) await notifier.close(0);
  const heard = model.notifications.map((n): Heard => {
    if (n.group.includes('alertname=BlueGreenPastIncident,')) return { at: n.at, word: 'past' };
    return { at: n.at, word: n.status === 'firing' ? 'firing' : n.title.startsWith('Recovered') ? 'clear' : 'expired' };
  });
  return { heard, open, active: model.active(now), endAt: now, restarts };
}

/** A segment made smaller: half as long, or one of its faults taken away. */
const segmentVariants = (seg: Segment): Segment[] => [
  ...(seg.seconds > 1 ? [{ ...seg, seconds: Math.ceil(seg.seconds / 2) }] : []),
  ...(seg.alertmanagerDown ? [{ ...seg, alertmanagerDown: false }] : []),
  ...(seg.alertmanagerRestart ? [{ ...seg, alertmanagerRestart: false }] : []),
  ...seg.quiet.map((w) => ({ ...seg, quiet: seg.quiet.filter((q) => q !== w) })),
  ...seg.restart.map((w) => ({ ...seg, restart: seg.restart.filter((q) => q !== w) })),
];

function check(r: Run): string | undefined {
  const openAt = (t: number, since: number) => WATCHERS.find((w) => r.open[w].some(([from, to]) => from <= since && to > t));
  let lastResolvedAt: number | undefined;
  const afterRestart = (t: number) => r.restarts.some((at) => at <= t && t <= at + RESEND_MS + GROUP_INTERVAL_MS + 1_000);
  for (const h of r.heard) {
    if (h.word === 'expired' || h.word === 'past') continue;
    if (h.word === 'clear' && afterRestart(h.at)) {
      lastResolvedAt = undefined;
      continue;
    }
    if (h.word === 'clear') {
      // A watcher that has seen it open since before the last group tick had posted it firing.
      const w = openAt(h.at, h.at - GROUP_INTERVAL_MS - 2_000);
      if (w !== undefined) return `all-clear at ${(h.at - T0) / 1000} s while watcher ${w} saw blue failing`;
      lastResolvedAt = h.at;
      continue;
    }
    if (lastResolvedAt === undefined) continue;
    const reopened = WATCHERS.some((w) => r.open[w].some(([from]) => from > lastResolvedAt! - GROUP_INTERVAL_MS - 2_000 && from <= h.at));
    if (!reopened) return `firing at ${(h.at - T0) / 1000} s after the all-clear at ${(lastResolvedAt - T0) / 1000} s, with no new failure`;
  }
  const last = r.heard.at(-1);
  if (last !== undefined && last.word !== 'clear' && last.word !== 'past') return `the latest word is ${last.word} (at ${(last.at - T0) / 1000} s) once every watcher healed`;
  if (r.active.length > 0) return `still active at the end: ${JSON.stringify(r.active)}`;
  return undefined;
}

describe('simulation through Alertmanager: two watchers, the latest word is the truth', () => {
  beforeAll(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterAll(() => void vi.useRealTimers());
  const only = process.env.SIM_SEED;
  const given = process.env.SIM_SCHEDULE === undefined ? undefined : (JSON.parse(process.env.SIM_SCHEDULE) as Schedule);
  const count = Number(process.env.SIM_SCHEDULES ?? 100);
  const FOUND = [20_261_315, 20_261_720, 20_262_551, 20_262_243];
  const seeds =
    given !== undefined ? [given.seed] : only !== undefined ? [Number(only)] : [...new Set([...FOUND, ...Array.from({ length: count }, (_, i) => 20_261_300 + i)])];

  it(`holds over ${seeds.length} random schedules of failures, heals, one watcher cut off, Alertmanager outages and restarts`, async () => {
    let told = 0;
    for (const seed of seeds) {
      const s = given ?? schedule(seed);
      const r = await run(s);
      const problem = check(r);
      if (problem !== undefined) {
        const shrunk = await shrink(s, async (c) => check(await run(c)) !== undefined, segmentVariants);
        expect.fail(
          `seed ${seed}: ${problem}\nschedule: ${JSON.stringify(s)}\nheard: ${JSON.stringify(r.heard.map((h) => [(h.at - T0) / 1000, h.word]))}\n` +
            `open: ${JSON.stringify(r.open)}\nshrunk (${check(await run(shrunk))}): SIM_SCHEDULE='${JSON.stringify(shrunk)}'`,
        );
      }
      if (r.heard.length > 0) told++;
    }
    // The schedules must exercise the invariant, not pass vacuously.
    if (only === undefined && given === undefined) expect(told).toBeGreaterThan(seeds.length / 3);
    console.log(`[sim] through Alertmanager: ${seeds.length} schedules, ${told} with the failover told`);
  }, Math.max(20_000, seeds.length * 400));
});
