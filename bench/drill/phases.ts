// The drill's phases against the live stack: steady load on the public port
// while something happens to a pool, printing progress each second, then the
// watcher's alerts for the phase. Judging the records is judge.ts's job.
import { now, openLoop, type Sample } from '../lib/load.js';
import {
  chaos,
  otherPool,
  publicOrigin,
  recentAlerts,
  runMake,
  type ChaosMode,
  type PoolName,
  type RecentAlert,
  type StackSettings,
} from '../lib/stack.js';
import { BARS, duration, firstAnswerFrom, type PhaseRecord } from './judge.js';

export interface DrillContext {
  settings: StackSettings;
  rate: number;
  /** Length of each phase. */
  phaseMs: number;
  /** Aborted on Ctrl-C: the load stops and the phase ends early. */
  interrupted: AbortSignal;
  /** Set while the serving pool may differ from ACTIVE_POOL, so clean-up knows to switch back. */
  state: { switchedAway: boolean };
}

const REQUEST_TIMEOUT_MS = 10_000;
// Ceiling of a phase's load whatever its script does, so nothing runs away.
const MAX_PHASE_MS = 180_000;
// Time for a switch's flip (if any) to reach the access log and the watcher.
const SETTLE_MS = 1_000;

/** Resolves after `ms`, or at once when `signal` is (or gets) aborted. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export const log = (line: string) => console.log(`  ${line}`);

/** Answers seen so far, for the progress line and for waiting on a pool to serve. */
class Tally {
  answered = 0;
  non200 = 0;
  readonly byPool = new Map<string, number>();
  private waiters: { test: (s: Sample) => boolean; resolve: (s: Sample) => void }[] = [];

  add = (s: Sample) => {
    this.answered++;
    if (s.status !== 200) this.non200++;
    else if (s.pool !== undefined) this.byPool.set(s.pool, (this.byPool.get(s.pool) ?? 0) + 1);
    this.waiters = this.waiters.filter((w) => (w.test(s) ? (w.resolve(s), false) : true));
  };

  /** The first answer, from now on, that passes `test`; undefined after `timeoutMs` or on `abort`. */
  next(test: (s: Sample) => boolean, timeoutMs: number, abort: AbortSignal): Promise<Sample | undefined> {
    let waiter: { test: (s: Sample) => boolean; resolve: (s: Sample) => void } | undefined;
    const found = new Promise<Sample>((resolve) => this.waiters.push((waiter = { test, resolve })));
    const given = pause(timeoutMs, abort).then(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      return undefined;
    });
    return Promise.race([found, given]);
  }

  line(elapsedMs: number): string {
    const pools = [...this.byPool].sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${p} ${n}`);
    return `${(elapsedMs / 1000).toFixed(0).padStart(3)} s: ${this.answered} answered, ${this.non200} non-200${pools.length ? `; ${pools.join(', ')}` : ''}`;
  }
}

/**
 * Open-loop load on the public /version while `script` runs; the load goes on
 * for at least the phase length and until the script is done.
 */
async function underLoad<T>(ctx: DrillContext, script: (tally: Tally, end: AbortSignal) => Promise<T>) {
  const end = new AbortController();
  const stop = () => end.abort();
  ctx.interrupted.addEventListener('abort', stop, { once: true });
  const tally = new Tally();
  const started = now();
  const ticker = setInterval(() => log(tally.line(now() - started)), 1_000);
  const load = openLoop({
    origin: publicOrigin(ctx.settings),
    path: '/version',
    rate: ctx.rate,
    durationMs: MAX_PHASE_MS,
    timeoutMs: REQUEST_TIMEOUT_MS,
    until: end.signal,
    onSample: tally.add,
  });
  try {
    const result = await script(tally, end.signal);
    await pause(started + ctx.phaseMs - now(), end.signal);
    return { result, startedAt: started, samples: await finish() };
  } catch (err) {
    await finish();
    throw err;
  }

  async function finish(): Promise<Sample[]> {
    end.abort();
    const samples = await load;
    clearInterval(ticker);
    ctx.interrupted.removeEventListener('abort', stop);
    log(tally.line(now() - started));
    return samples;
  }
}

/**
 * The watcher's alerts raised since `since`. With `expect`, polls until an
 * alert of that kind is there and, if it is being sent, its delivery ended,
 * or until BARS.alertMs (plus margin) after `expect.from`.
 */
async function alertsSince(
  ctx: DrillContext,
  since: number,
  expect?: { kind: string; from: number },
): Promise<RecentAlert[]> {
  const deadline = (expect?.from ?? now()) + BARS.alertMs + 3_000;
  for (;;) {
    let alerts: RecentAlert[] = [];
    try {
      alerts = (await recentAlerts(ctx.settings)).filter((a) => Date.parse(a.raisedAt) >= since);
    } catch (err) {
      log(`watcher /stats: ${(err as Error).message}`);
    }
    const wanted = expect && alerts.find((a) => a.kind === expect.kind);
    const settled = wanted !== undefined && (wanted.decision !== 'send' || wanted.outcome !== undefined);
    if (expect === undefined || settled || now() > deadline || ctx.interrupted.aborted) return alerts;
    await pause(250, ctx.interrupted);
  }
}

export async function baseline(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.settings.ACTIVE_POOL;
  const { samples, startedAt } = await underLoad(ctx, async () => undefined);
  return { kind: 'baseline', name, active, samples, alerts: await alertsSince(ctx, startedAt) };
}

export async function chaosOn(ctx: DrillContext, name: string, mode: ChaosMode): Promise<PhaseRecord> {
  const active = ctx.settings.ACTIVE_POOL;
  const other = otherPool(active);
  const { samples, startedAt, result: eventAt } = await underLoad(ctx, async (tally, end) => {
    await chaos(ctx.settings, active, mode);
    const at = now();
    log(`chaos ${mode} on ${active} acknowledged`);
    void tally.next((s) => s.status === 200 && s.pool === other, ctx.phaseMs, end).then((s) => {
      if (s) log(`first ${other} answer ${duration(s.startedAt + s.latencyMs - at)} after chaos began`);
    });
    return at;
  });
  const alerts = await alertsSince(ctx, startedAt, { kind: 'failover', from: eventAt });
  return { kind: 'chaos', mode, name, active, samples, eventAt, alerts };
}

export async function chaosOff(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.settings.ACTIVE_POOL;
  const { samples, startedAt, result: eventAt } = await underLoad(ctx, async (tally, end) => {
    await chaos(ctx.settings, active, 'stop');
    const at = now();
    log(`chaos on ${active} stopped; Nginx retries it after fail_timeout (5 s)`);
    const back = await tally.next((s) => s.status === 200 && s.pool === active, BARS.recoveryMs + 3_000, end);
    log(back ? `${active} serves again ${duration(back.startedAt + back.latencyMs - at)} after chaos stopped` : `${active} has not answered yet`);
    return at;
  });
  const back = firstAnswerFrom(samples, active, eventAt);
  const alerts = await alertsSince(ctx, startedAt, back === undefined ? undefined : { kind: 'recovery', from: back });
  return { kind: 'recovery', name, active, samples, eventAt, alerts };
}

export async function switchAndBack(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.settings.ACTIVE_POOL;
  const switches: { to: PoolName; code: number; ms: number }[] = [];
  const switchTo = async (to: PoolName) => {
    log(`make switch POOL=${to}`);
    const run = await runMake(ctx.settings, ['switch', `POOL=${to}`]);
    for (const line of run.output.trimEnd().split('\n')) log(`| ${line}`);
    switches.push({ to, code: run.code, ms: run.ms });
    return run.code === 0;
  };
  const { samples, startedAt } = await underLoad(ctx, async (_tally, end) => {
    await pause(SETTLE_MS, end);
    if (end.aborted) return;
    ctx.state.switchedAway = true;
    const there = await switchTo(otherPool(active));
    if (end.aborted) return;
    if (there) await pause(Math.max(SETTLE_MS, ctx.phaseMs / 3), end);
    if (await switchTo(active)) ctx.state.switchedAway = false;
    await pause(SETTLE_MS, end);
  });
  await pause(SETTLE_MS, ctx.interrupted);
  return { kind: 'switch', name, active, samples, switches, alerts: await alertsSince(ctx, startedAt) };
}
