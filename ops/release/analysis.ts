// The release gates. Judging is pure (samples and /stats snapshots in, a
// verdict out) so it is tested without a stack; the runners below feed it.
//   pre-promotion:  steady requests straight to the idle pool's direct port;
//                   every answer 2xx from the new release, p99 under a bound.
//   post-promotion: the watcher's view of the new primary (failed attempts,
//                   incidents) and steady requests through Nginx; a check
//                   every CHECK_MS, roll back after N failed checks.
import {
  now,
  openLoop,
  percentile,
  replicaOrigins,
  publicOrigin,
  watcherStats,
  type PoolName,
  type Sample,
  type StackSettings,
  type WatcherStats,
} from '../stack/index.js';
import { incidentKey } from '../../watcher/vocabulary.js';

export const CHECK_MS = 500;
/**
 * After a switch, Nginx's old workers finish the requests they hold on the old
 * pool (the watcher allows the same grace, detect/poolFlip.ts): an answer from
 * the previous release that early is not a failover.
 */
export const SWITCH_GRACE_MS = 2000;
const PATH = '/version';
const PROBE_TIMEOUT_MS = 5000;

export interface Gate {
  pool: PoolName;
  release: string;
}

/** `at`, when known: when the evidence of a failure began (epoch ms), for the rollback's timing. */
export type Verdict = { ok: true } | { ok: false; reason: string; at?: number };

const ok2xx = (status: number) => status >= 200 && status < 300;

/** Why one pre-promotion answer fails the gate, or undefined when it passes. */
export function judgePreSample(sample: Sample, gate: Gate): string | undefined {
  if (sample.status === 0) return `no answer from ${gate.pool} (${sample.error ?? 'connection failed'})`;
  if (!ok2xx(sample.status)) return `${gate.pool} answered ${sample.status}`;
  if (sample.release !== gate.release) return `${gate.pool} answered as release "${sample.release ?? '(none)'}", expected "${gate.release}"`;
  if (sample.pool !== gate.pool) return `answer carried X-App-Pool "${sample.pool ?? '(none)'}", expected "${gate.pool}"`;
  return undefined;
}

export interface PreFigures {
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

export function preFigures(samples: readonly Sample[]): PreFigures {
  const latencies = samples.map((s) => s.latencyMs);
  return { requests: samples.length, p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)) };
}

export function judgePre(samples: readonly Sample[], gate: Gate, p99BoundMs: number): Verdict {
  if (samples.length === 0) return { ok: false, reason: 'no request was sent' };
  for (const sample of samples) {
    const bad = judgePreSample(sample, gate);
    if (bad !== undefined) return { ok: false, reason: bad };
  }
  const { p99Ms } = preFigures(samples);
  if (p99Ms > p99BoundMs) return { ok: false, reason: `p99 latency ${p99Ms} ms is above ANALYSIS_P99_MS=${p99BoundMs}` };
  return { ok: true };
}

export interface PostCheckInput {
  gate: Gate;
  promotedAt: number;
  /** /stats when the analysis began, and now. */
  base: WatcherStats;
  current: WatcherStats;
  /** Answers through Nginx since the previous check. */
  samples: readonly Sample[];
  maxFailedPct: number;
}

/** One post-promotion check: the first problem found, or ok. */
export function judgePostCheck(input: PostCheckInput): Verdict {
  const { gate, current } = input;
  for (const incident of current.incidents) {
    const relevant = incident.key === incidentKey('failover', gate.pool) || incident.key === 'outage';
    const active = (incident.reported ?? incident.told)?.active ?? true;
    if (relevant && active && incident.openedAt >= input.promotedAt) {
      return {
        ok: false,
        reason: `the watcher opened ${incident.key === 'outage' ? 'an outage' : `a failover away from ${gate.pool}`}`,
        at: incident.openedAt,
      };
    }
  }
  const failed = delta(input.base, current, gate.pool);
  if (failed.attempts > 0 && (failed.failed / failed.attempts) * 100 > input.maxFailedPct) {
    return {
      ok: false,
      reason: `${failed.failed} of ${failed.attempts} attempts on ${gate.pool} failed (${pct(failed.failed / failed.attempts)}, ANALYSIS_MAX_FAILED_PCT=${input.maxFailedPct})`,
    };
  }
  for (const sample of input.samples) {
    if (!ok2xx(sample.status)) {
      return { ok: false, reason: `a client request through Nginx got ${sample.status || 'no answer'}`, at: sample.startedAt };
    }
    const settled = sample.startedAt >= input.promotedAt + SWITCH_GRACE_MS;
    if (settled && sample.release !== gate.release) {
      return {
        ok: false,
        reason: `a client request was answered by release "${sample.release ?? '(none)'}" on ${sample.pool ?? '?'}, not by ${gate.release}`,
        at: sample.startedAt,
      };
    }
  }
  return { ok: true };
}

/** The pool's attempts and failures between two snapshots; a restarted watcher counts from zero. */
export function delta(base: WatcherStats, current: WatcherStats, pool: PoolName): { attempts: number; failed: number } {
  const before = base.pools[pool]?.total ?? { attempts: 0, failed: 0 };
  const after = current.pools[pool]?.total ?? { attempts: 0, failed: 0 };
  if (after.attempts < before.attempts) return { ...after };
  return { attempts: after.attempts - before.attempts, failed: after.failed - before.failed };
}

const round = (ms: number) => (Number.isFinite(ms) ? Math.round(ms) : ms);
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

export interface AnalysisSettings {
  seconds: number;
  rps: number;
  progress: (line: string) => void;
  signal: AbortSignal;
}

export interface PreResult {
  verdict: Verdict;
  figures: PreFigures;
}

/** Steady requests for the analysis' length, until `stop` or a Ctrl-C. */
function probe(origin: string, opts: AnalysisSettings, stop: AbortSignal, onSample: (sample: Sample) => void): Promise<Sample[]> {
  return openLoop({
    origin,
    path: PATH,
    rate: opts.rps,
    durationMs: opts.seconds * 1000,
    timeoutMs: PROBE_TIMEOUT_MS,
    until: AbortSignal.any([stop, opts.signal]),
    onSample,
  });
}

/** Steady requests to the idle pool's own port; stops at the first bad answer. */
export async function runPreAnalysis(s: StackSettings, gate: Gate, opts: AnalysisSettings): Promise<PreResult> {
  const stop = new AbortController();
  let firstBad: string | undefined;
  const ticker = progressTicker(opts, () => `${firstBad === undefined ? 'all good so far' : firstBad}`);
  try {
    // Every replica of the pool runs the new release: each gets its share of the rate.
    const origins = await replicaOrigins(s, gate.pool);
    const share = { ...opts, rps: Math.max(1, Math.round(opts.rps / Math.max(1, origins.length))) };
    const onSample = (sample: Sample) => {
      firstBad ??= judgePreSample(sample, gate);
      if (firstBad !== undefined) stop.abort();
    };
    const samples = (await Promise.all(origins.map((origin) => probe(origin, share, stop.signal, onSample)))).flat();
    return { verdict: judgePre(samples, gate, s.ANALYSIS_P99_MS), figures: preFigures(samples) };
  } finally {
    clearInterval(ticker);
  }
}

export interface PostResult {
  verdict: Verdict;
  requests: number;
  /** When the first sign of trouble was seen (a failed probe or check), epoch ms. */
  firstFailureAt?: number;
  /** When the analysis decided to roll back, epoch ms. */
  decidedAt?: number;
}

/** Checks every CHECK_MS until ANALYSIS_SEC pass or ANALYSIS_MAX_FAILED_CHECKS checks fail. */
export async function runPostAnalysis(s: StackSettings, gate: Gate, promotedAt: number, opts: AnalysisSettings): Promise<PostResult> {
  const stop = new AbortController();
  const base = await watcherStats(s);
  let pending: Sample[] = [];
  let requests = 0;
  let failedChecks = 0;
  let firstFailureAt: number | undefined;
  const load = probe(publicOrigin(s), opts, stop.signal, (sample) => {
    pending.push(sample);
    requests++;
  });
  const ticker = progressTicker(opts, () => `${requests} requests, ${failedChecks} failed check(s)`);
  const end = now() + opts.seconds * 1000;
  let lastCheckAt = now();
  try {
    while (now() < end && !opts.signal.aborted) {
      await sleep(Math.min(CHECK_MS, end - now()));
      const checkedSince = lastCheckAt;
      lastCheckAt = now();
      let current: WatcherStats;
      try {
        current = await watcherStats(s);
      } catch {
        // No view is no evidence either way: the probes still judge.
        current = base;
      }
      const samples = pending;
      pending = [];
      const verdict = judgePostCheck({ gate, promotedAt, base, current, samples, maxFailedPct: s.ANALYSIS_MAX_FAILED_PCT });
      if (verdict.ok) continue;
      // Without a time of its own (a count of failed attempts), the failure is
      // dated to the previous check: the rollback time is never flattered.
      firstFailureAt ??= verdict.at ?? checkedSince;
      failedChecks++;
      if (failedChecks >= s.ANALYSIS_MAX_FAILED_CHECKS) {
        return { verdict, requests, firstFailureAt, decidedAt: now() };
      }
    }
    if (opts.signal.aborted) return { verdict: { ok: false, reason: 'interrupted' }, requests };
    return { verdict: { ok: true }, requests, ...(firstFailureAt === undefined ? {} : { firstFailureAt }) };
  } finally {
    clearInterval(ticker);
    stop.abort();
    await load;
  }
}

function progressTicker(opts: AnalysisSettings, status: () => string): NodeJS.Timeout {
  const started = now();
  const every = Math.max(1000, Math.min(5000, (opts.seconds * 1000) / 4));
  return setInterval(() => opts.progress(`${Math.round((now() - started) / 1000)}/${opts.seconds} s: ${status()}`), every);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
