// What every phase's judgement is built from: the load's figures, the table
// row and the non-200 verdict. Its own module so the failover judging
// (judge.ts) and the release judging (judgeRelease.ts) share it without
// importing each other.
import { percentile, type Sample } from '../../ops/stack/index.js';
import type { Row, Verdict } from '../lib/report.js';

export const done = (s: Sample) => s.startedAt + s.latencyMs;
export const ok = (s: Sample) => s.status === 200;
/** "12 ms" below a second, "1.50 s" above: the bars are in seconds, but a fast failover deserves its digits. */
export const duration = (ms: number | undefined) =>
  ms === undefined ? '–' : Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
export const pct = (share: number) => (Number.isNaN(share) ? '–' : `${(share * 100).toFixed(1)}%`);
export const round = (ms: number) => Math.round(ms * 10) / 10;

/** Count, failures (by status, 0 = no answer, with the error), latency percentiles, answers per pool. */
export function loadFigures(samples: readonly Sample[]) {
  const latencies = samples.map((s) => s.latencyMs);
  const failures: Record<string, number> = {};
  const byPool: Record<string, number> = {};
  for (const s of samples) {
    if (!ok(s)) {
      const key = s.status === 0 ? `no answer (${s.error ?? 'unknown'})` : String(s.status);
      failures[key] = (failures[key] ?? 0) + 1;
    }
    if (ok(s) && s.pool !== undefined) byPool[s.pool] = (byPool[s.pool] ?? 0) + 1;
  }
  return {
    requests: samples.length,
    non200: samples.filter((s) => !ok(s)).length,
    failures,
    // Closed keep-alive connections retried once, as any HTTP/1.1 client does: not failures, but shown.
    retried: samples.filter((s) => s.retried === true).length,
    byPool,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(percentile(latencies, 100)),
  };
}

export type LoadFigures = ReturnType<typeof loadFigures>;

/** Share of `samples` answered 200 by `pool`; NaN when there are none. */
export function shareFrom(samples: readonly Sample[], pool: string): number {
  return samples.length === 0 ? Number.NaN : samples.filter((s) => ok(s) && s.pool === pool).length / samples.length;
}

/** Epoch ms at which the first 200 from `pool` that finished at or after `since` finished. */
export function firstAnswerFrom(samples: readonly Sample[], pool: string, since: number): number | undefined {
  let first: number | undefined;
  for (const s of samples) {
    if (ok(s) && s.pool === pool && done(s) >= since && (first === undefined || done(s) < first)) first = done(s);
  }
  return first;
}

export function non200Verdict(name: string, figures: { non200: number }): Verdict {
  return { metric: `${name}: non-200`, value: figures.non200, target: '0', met: figures.non200 === 0 };
}

const servedBy = (byPool: Record<string, number>, requests: number) =>
  Object.entries(byPool)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pool, n]) => `${pool} ${pct(n / requests)}`)
    .join(', ') || 'none';

export function row(name: string, figures: LoadFigures, extra: { served?: string; first?: string; alert?: string }): Row {
  return {
    phase: name,
    requests: figures.requests,
    'non-200': figures.non200,
    'served by': extra.served ?? servedBy(figures.byPool, figures.requests),
    'p50 ms': figures.p50Ms,
    'p99 ms': figures.p99Ms,
    'max ms': figures.maxMs,
    first: extra.first ?? '',
    alert: extra.alert ?? '',
  };
}
