// A small HTTP load generator on undici with keep-alive connections, in two
// modes that share one request path:
// - openLoop: a request every 1/rate s whatever the previous ones do, so a
//   hung pool shows up as latency instead of silently slowing the client down
//   (the drill);
// - closedLoop: N connections each sending the next request as soon as the
//   last answered, for the most requests per second (the proxy benchmark).
import { Pool } from 'undici';

/** One request as the client saw it; `status` 0 means no HTTP answer (`error` says why). */
export interface Sample {
  /** Epoch ms (sub-ms precision) when the request was sent. */
  startedAt: number;
  latencyMs: number;
  status: number;
  /** X-App-Pool of the answer, if any. */
  pool: string | undefined;
  /** X-Release-Id of the answer, if any. */
  release?: string | undefined;
  /** Sent again once: its keep-alive connection was closed under it (see send()). */
  retried?: boolean;
  error?: string;
}

export interface Target {
  /** e.g. http://127.0.0.1:8080 */
  origin: string;
  /** e.g. /version */
  path: string;
  /** Per request: no headers within it, or no body byte within it, is an error. */
  timeoutMs?: number;
  /**
   * Send a request again once when its keep-alive connection was closed
   * under it, as browsers do (default true). Off, such a request is a
   * failure: what a client library without that retry would see.
   */
  retryClosed?: boolean;
}

/** Epoch ms from the monotonic clock, so latencies never jump with the wall clock. */
export const now = (): number => performance.timeOrigin + performance.now();

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A keep-alive connection the server closed as this request went out (an
 * Nginx reload closes its old workers' idle ones; a switch no longer
 * reloads): the request never reached anyone, and an HTTP/1.1 client retries
 * such an idempotent request on a new connection (RFC 9112 §9.3.1), as
 * browsers do. Once, and counted.
 */
const CLOSED_UNDER_US = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

async function send(pool: Pool, target: Target): Promise<Sample> {
  const startedAt = now();
  const timeout = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let retried = false;
  for (;;) {
    try {
      const res = await pool.request({ method: 'GET', path: target.path, headersTimeout: timeout, bodyTimeout: timeout });
      await res.body.dump();
      return {
        startedAt,
        latencyMs: now() - startedAt,
        status: res.statusCode,
        pool: header(res.headers['x-app-pool']),
        release: header(res.headers['x-release-id']),
        ...(retried ? { retried } : {}),
      };
    } catch (err) {
      const e = err as Error & { code?: string };
      if (target.retryClosed !== false && !retried && e.code !== undefined && CLOSED_UNDER_US.has(e.code)) {
        retried = true;
        continue;
      }
      return { startedAt, latencyMs: now() - startedAt, status: 0, pool: undefined, error: e.code ?? e.message, ...(retried ? { retried } : {}) };
    }
  }
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface OpenLoopOptions extends Target {
  /** Requests per second. */
  rate: number;
  /** Stop sending after this long; `until` can end it earlier. */
  durationMs: number;
  /** Aborting stops sending; the requests in flight still complete. */
  until?: AbortSignal;
  onSample?: (sample: Sample) => void;
  /**
   * At most this many keep-alive connections, reused by the requests in turn
   * (a request waits for a free one). Default: no limit, so a hung request
   * never holds back the next one.
   */
  connections?: number;
}

/**
 * Sends request i at start + i/rate. A late timer sends every request that
 * is due at once rather than skipping any, so the schedule (and so the load
 * the server sees) does not depend on how fast it answers.
 * Resolves with every sample, in the order they were sent.
 */
export async function openLoop(opts: OpenLoopOptions): Promise<Sample[]> {
  const pool = new Pool(opts.origin, { connections: opts.connections ?? null });
  const pending: Promise<Sample>[] = [];
  const start = now();
  const gapMs = 1000 / opts.rate;
  try {
    for (let i = 0; ; i++) {
      const due = start + i * gapMs;
      if (due - start >= opts.durationMs || opts.until?.aborted) break;
      await sleep(due - now());
      if (opts.until?.aborted) break;
      const request = send(pool, opts);
      if (opts.onSample) void request.then(opts.onSample);
      pending.push(request);
    }
    return await Promise.all(pending);
  } finally {
    await pool.close();
  }
}

export interface ClosedLoopOptions extends Target {
  connections: number;
  durationMs: number;
}

/** The raw result of one closed-loop run; throughput() turns one or more into figures. */
export interface LoadRun {
  latencies: number[];
  /** Answers that were not 200, transport errors included. */
  failed: number;
  seconds: number;
}

export interface Throughput {
  requests: number;
  failed: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** `connections` keep-alive connections, each sending its next request as soon as the last one is answered. */
export async function closedLoop(opts: ClosedLoopOptions): Promise<LoadRun> {
  const pool = new Pool(opts.origin, { connections: opts.connections });
  const latencies: number[] = [];
  let failed = 0;
  const start = now();
  const end = start + opts.durationMs;
  const worker = async () => {
    while (now() < end) {
      const sample = await send(pool, opts);
      latencies.push(sample.latencyMs);
      if (sample.status !== 200) failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.connections }, worker));
  } finally {
    await pool.close();
  }
  return { latencies, failed, seconds: (now() - start) / 1000 };
}

/** Requests per second and latency percentiles over every run together. */
export function throughput(runs: readonly LoadRun[]): Throughput {
  const latencies = runs.flatMap((r) => r.latencies);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    requests: latencies.length,
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
  };
}

/** The p-th percentile (0..100) of `values`, nearest-rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
