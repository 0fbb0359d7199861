// The drill's phases against the live stack: steady load on the public port
// while something happens to a pool, printing progress each second, then the
// watcher's alerts for the phase. Judging the records is judge.ts's job.
//
// The watcher reports incidents, not events: a failover incident resolves
// only after RECOVERY_HOLD_SEC of steady service, and chaos that starts again
// before then is the same incident, of which Slack hears nothing new. So a
// recovery phase keeps the load on until the all-clear is decided (bounded by
// the hold plus the alert bar), and the next chaos phase starts a new
// incident, whose opening the drill can time. Judging the two chaos phases as
// one incident instead would leave the second with nothing to measure. With
// a cooldown, the all-clear may be deferred; Slack then still has the
// incident open when the next chaos starts, the watcher rightly stays quiet,
// and the drill checks instead that it withdrew the deferred all-clear.
import { switchServedMs } from '../../ops/release/switch.js';
import { now, openLoop, type Sample } from '../../ops/stack/index.js';
import { incidentKey } from '../../watcher/vocabulary.js';
import {
  chaos,
  otherPool,
  publicOrigin,
  runMake,
  watcherStats,
  type ChaosMode,
  type Incident,
  type PoolName,
  type RecentAlert,
  type StackSettings,
} from '../../ops/stack/index.js';
import { duration } from './figures.js';
import { BARS, recoveryAlertMs } from './judge.js';
import { type PhaseRecord, type SlackWord } from './records.js';

export interface DrillContext {
  settings: StackSettings;
  /** The pool serving when the drill began (the control volume's, else ACTIVE_POOL). */
  active: PoolName;
  rate: number;
  /** Length of each phase. */
  phaseMs: number;
  /** Aborted on Ctrl-C: the load stops and the phase ends early. */
  interrupted: AbortSignal;
  /**
   * For clean-up: `switchedAway` while the serving pool may differ from
   * `active`, so it switches back; `released` once a release phase began,
   * so it puts both pools back on the versions they ran (releasePhases.ts).
   */
  state: { switchedAway: boolean; released: boolean };
}

const REQUEST_TIMEOUT_MS = 10_000;
// Ceiling of a phase's load whatever its script does, so nothing runs away
// (plus what the phase waits through by design: RECOVERY_HOLD_SEC for a
// recovery phase, a release's analyses and deploys).
const MAX_PHASE_MS = 180_000;
// Time for a switch's flip (if any) to reach the access log and the watcher.
const SETTLE_MS = 1_000;
// How often the watcher's /stats is read while waiting on it.
const POLL_MS = 250;
// Waiting for a message: the bar, plus this for its delivery to be reported.
const MARGIN_MS = 3_000;

const holdMs = (ctx: DrillContext) => ctx.settings.RECOVERY_HOLD_SEC * 1000;
const failoverKey = (ctx: DrillContext) => incidentKey('failover', ctx.active);

/** Resolves after `ms`, or at once when `signal` is (or gets) aborted; leaves no listener behind, however often it is called. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
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
 * for at least the phase length and until the script is done, at most
 * MAX_PHASE_MS plus `waitsMs`.
 */
export async function underLoad<T>(
  ctx: DrillContext,
  script: (tally: Tally, end: AbortSignal, startedAt: number) => Promise<T>,
  waitsMs = holdMs(ctx),
) {
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
    durationMs: MAX_PHASE_MS + waitsMs,
    timeoutMs: REQUEST_TIMEOUT_MS,
    until: end.signal,
    onSample: tally.add,
  });
  try {
    const result = await script(tally, end.signal, started);
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

/** The watcher's alerts raised since `since`, or none (logged) when /stats does not answer. */
async function readAlerts(ctx: DrillContext, since: number): Promise<{ alerts: RecentAlert[]; incidents: Incident[] | undefined }> {
  try {
    const stats = await watcherStats(ctx.settings);
    return { alerts: stats.recentAlerts.filter((a) => Date.parse(a.raisedAt) >= since), incidents: stats.incidents };
  } catch (err) {
    log(`watcher /stats: ${(err as Error).message}`);
    return { alerts: [], incidents: undefined };
  }
}

/**
 * The watcher's alerts raised since `since`. With `expect`, polls until an
 * alert of that kind and message is there and, if it is being sent, its
 * delivery ended, or until `expect.deadline`.
 */
export async function alertsSince(
  ctx: DrillContext,
  since: number,
  expect?: { kind: RecentAlert['kind']; message: RecentAlert['message']; deadline: number },
): Promise<RecentAlert[]> {
  for (;;) {
    const { alerts } = await readAlerts(ctx, since);
    const wanted = expect && alerts.find((a) => a.kind === expect.kind && a.message === expect.message);
    const settled = wanted !== undefined && (wanted.decision !== 'send' || wanted.outcome !== undefined);
    if (expect === undefined || settled || now() > expect.deadline || ctx.interrupted.aborted) return alerts;
    await pause(POLL_MS, ctx.interrupted);
  }
}

/** What Slack last heard about the active pool's failover (see SlackWord); undefined when /stats does not answer. */
async function slackWord(ctx: DrillContext): Promise<SlackWord | undefined> {
  const { incidents } = await readAlerts(ctx, now());
  if (incidents === undefined) return undefined;
  const incident = incidents.find((i) => i.key === failoverKey(ctx));
  if (incident?.told?.active !== true) return 'clear';
  return incident.reported?.active === false ? 'deferred' : 'open';
}

/**
 * When /stats first shows the active pool's deferred all-clear withdrawn (the
 * incident still open for Slack, with no inactive change held back): the
 * watcher saw it fail again. Undefined if the phase ends first, or if the
 * all-clear went out meanwhile (the cooldown ran out), which the judge sees.
 */
async function allClearWithdrawn(ctx: DrillContext, end: AbortSignal): Promise<number | undefined> {
  while (!end.aborted) {
    const { incidents } = await readAlerts(ctx, now());
    const incident = incidents?.find((i) => i.key === failoverKey(ctx));
    if (incidents !== undefined && incident?.told?.active !== true) return undefined;
    if (incident !== undefined && incident.reported?.active !== false) return now();
    await pause(POLL_MS, end);
  }
  return undefined;
}

export async function baseline(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.active;
  const { samples, startedAt } = await underLoad(ctx, async () => undefined);
  return { kind: 'baseline', name, active, samples, alerts: await alertsSince(ctx, startedAt) };
}

export async function chaosOn(ctx: DrillContext, name: string, mode: ChaosMode): Promise<PhaseRecord> {
  const active = ctx.active;
  const other = otherPool(active);
  const slack = await slackWord(ctx);
  if (slack === 'deferred') log(`Slack still has the last failover open (its all-clear is deferred by the cooldown): no new message is due`);
  if (slack === 'open') log(`the last failover has not resolved: this chaos is part of it`);
  let withdrawn: Promise<number | undefined> = Promise.resolve(undefined);
  const { samples, startedAt, result: eventAt } = await underLoad(ctx, async (tally, end) => {
    await chaos(ctx.settings, active, mode);
    const at = now();
    log(`chaos ${mode} on ${active} acknowledged`);
    if (slack === 'deferred') withdrawn = allClearWithdrawn(ctx, end);
    void tally.next((s) => s.status === 200 && s.pool === other, ctx.phaseMs, end).then((s) => {
      if (s) log(`first ${other} answer ${duration(s.startedAt + s.latencyMs - at)} after chaos began`);
    });
    return at;
  });
  // An opening is due only for a new incident.
  const due = slack !== 'deferred' && slack !== 'open';
  const alerts = await alertsSince(ctx, startedAt, due ? { kind: 'failover', message: 'opened', deadline: eventAt + BARS.alertMs + MARGIN_MS } : undefined);
  const record: PhaseRecord = { kind: 'chaos', mode, name, active, samples, eventAt, alerts };
  if (slack !== undefined) record.slack = slack;
  const withdrawnAt = await withdrawn;
  if (withdrawnAt !== undefined) record.withdrawnAt = withdrawnAt;
  return record;
}

export async function chaosOff(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.active;
  const maintenance = (await watcherStats(ctx.settings).catch(() => undefined))?.maintenance === true;
  let back: number | undefined;
  let quietAt: number | undefined;
  const { samples, startedAt, result: eventAt } = await underLoad(ctx, async (tally, end, since) => {
    await chaos(ctx.settings, active, 'stop');
    const at = now();
    log(`chaos on ${active} stopped; Nginx retries it after fail_timeout (5 s)`);
    const answer = await tally.next((s) => s.status === 200 && s.pool === active, BARS.recoveryMs + 3_000, end);
    if (answer === undefined) {
      log(`${active} has not answered yet`);
      return at;
    }
    back = answer.startedAt + answer.latencyMs;
    log(`${active} serves again ${duration(back - at)} after chaos stopped`);
    // Under load, so a failure during the hold shows, until the all-clear is decided.
    log(`waiting for the all-clear: RECOVERY_HOLD_SEC=${ctx.settings.RECOVERY_HOLD_SEC} of steady service`);
    const deadline = back + recoveryAlertMs({ holdMs: holdMs(ctx) }) + MARGIN_MS;
    let seenOpen = false;
    while (!end.aborted && now() < deadline) {
      const { alerts, incidents } = await readAlerts(ctx, since);
      const allClear = alerts.find((a) => a.kind === 'failover' && a.message === 'resolved');
      if (allClear !== undefined) {
        const how = { send: 'sent', defer: 'deferred by the cooldown', suppress: 'suppressed by maintenance' }[allClear.decision];
        log(`all-clear ${how} ${duration(Date.parse(allClear.raisedAt) - back)} after ${active} served again`);
        break;
      }
      // In maintenance an incident Slack never heard of resolves without a message (the summary counts it).
      // /stats shows it either gone or, until maintenance ends, still listed but with nothing told and no
      // change held back, which while it is open cannot be: every change of it is reported as suppressed.
      const incident = incidents?.find((i) => i.key === failoverKey(ctx));
      seenOpen ||= incident !== undefined;
      const quiet = incidents !== undefined && (incident === undefined || (incident.told === undefined && incident.reported === undefined));
      if (maintenance && seenOpen && quiet) {
        quietAt = now();
        log(`resolved without a message (maintenance) ${duration(quietAt - back)} after ${active} served again`);
        break;
      }
      await pause(POLL_MS, end);
    }
    return at;
  });
  const alerts =
    back === undefined
      ? await alertsSince(ctx, startedAt)
      : await alertsSince(ctx, startedAt, { kind: 'failover', message: 'resolved', deadline: back + recoveryAlertMs({ holdMs: holdMs(ctx) }) + MARGIN_MS });
  const record: PhaseRecord = { kind: 'recovery', name, active, samples, eventAt, alerts };
  if (quietAt !== undefined) record.quietAt = quietAt;
  return record;
}

export async function switchAndBack(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const active = ctx.active;
  const switches: { to: PoolName; code: number; ms: number; servedMs?: number }[] = [];
  const switchTo = async (to: PoolName) => {
    log(`make switch POOL=${to}`);
    const run = await runMake(ctx.settings, ['switch', `POOL=${to}`]);
    for (const line of run.output.trimEnd().split('\n')) log(`| ${line}`);
    const servedMs = run.stdout.split('\n').map(switchServedMs).find((ms) => ms !== undefined);
    switches.push({ to, code: run.code, ms: run.ms, ...(servedMs === undefined ? {} : { servedMs }) });
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
