// The one retry stage, after Alertmanager's notify pipeline: an integration
// formats, posts and classifies its answer into a Verdict (delivered, worth a
// retry and why, or permanent and why); only this stage waits and tries again.
// Integrations never loop on their own.
import type { DeliveryFailure } from '../vocabulary.js';
import { describeError, isTimeout, type HttpAnswer } from './http.js';

export type Verdict =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; reason: string; failure: DeliveryFailure; retryAfterMs?: number }
  | { outcome: 'permanent'; reason: string; failure: DeliveryFailure };

/** How much of an unexpected answer a reason quotes. */
export const REASON_SAMPLE = 200;

export interface ClassifyOptions {
  /** Error texts and bodies can quote a secret URL. */
  scrub?: (text: string) => string;
  /** A larger Retry-After is cut to this, so one 429 cannot park delivery for an hour. */
  maxRetryAfterMs: number;
  /** Wall clock, for a Retry-After given as an HTTP date. */
  now: () => number;
}

/**
 * An HTTP answer's verdict. 2xx delivered; 408 and 429 (and 5xx) are worth a
 * retry; any other 4xx is permanent: the request itself is wrong (a revoked
 * webhook, bad credentials, a payload refused), and sending it again only
 * hides that from the operator.
 */
export function classifyAnswer(answer: HttpAnswer, opts: ClassifyOptions): Verdict {
  const { status } = answer;
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  const sample = (opts.scrub ?? ((t: string) => t))(answer.body.slice(0, REASON_SAMPLE)).trim();
  const reason = `HTTP ${status}${sample ? `: ${sample}` : ''}`;
  if (status === 429 || status === 408) {
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], opts.maxRetryAfterMs, opts.now());
    const failure: DeliveryFailure = status === 429 ? 'rate_limited' : 'timeout';
    return retryAfterMs === undefined ? { outcome: 'retry', reason, failure } : { outcome: 'retry', reason, failure, retryAfterMs };
  }
  if (status >= 500) return { outcome: 'retry', reason, failure: 'http_5xx' };
  return { outcome: 'permanent', reason, failure: 'http_4xx' };
}

/** No answer at all (refused, reset, DNS, timeout): always worth a retry. */
export function classifyError(err: unknown, scrub: (text: string) => string = (t) => t): Verdict {
  return { outcome: 'retry', reason: scrub(describeError(err)), failure: isTimeout(err) ? 'timeout' : 'network' };
}

/** Retry-After is seconds or an HTTP date; undefined when absent or unreadable; capped at `maxMs`, never negative. */
export function parseRetryAfter(header: string | string[] | undefined, maxMs: number, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(maxMs, Math.max(0, ms));
}

export interface BackoffOptions {
  /** The first retry waits about this long, doubling each time; also the shortest wait of all, Retry-After included. */
  baseMs: number;
  /** Caps the backoff, so a message goes out within this long of its receiver coming back. */
  maxMs: number;
  random: () => number;
}

/** The wait before retry number `attempt` (1 = the first retry): half fixed, half random, so retries spread but never come at once. */
export function backoffMs(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (opts.random() * ceiling) / 2);
}

/** How long to wait after a verdict worth a retry: its Retry-After, or the backoff; never under the base (`Retry-After: 0` would spin). */
export function retryWaitMs(verdict: Extract<Verdict, { outcome: 'retry' }>, attempt: number, opts: BackoffOptions): number {
  return Math.max(opts.baseMs, verdict.retryAfterMs ?? backoffMs(attempt, opts));
}

export interface RetryOptions extends BackoffOptions {
  /** How long one message is retried: long enough to ride out an outage. */
  retryForMs: number;
  /** Monotonic: a clock step must neither give up at once nor retry for ever. */
  monotonic: () => number;
  sleep: (ms: number) => Promise<void>;
  onRetry?(attempt: number, verdict: Extract<Verdict, { outcome: 'retry' }>, waitMs: number): void;
}

export type RetryResult = { verdict: Verdict; attempts: number; gaveUp: boolean };

/** Tries `attempt` until it is delivered, permanent, or retrying would outlast `retryForMs`. */
export async function withRetries(attempt: () => Promise<Verdict>, opts: RetryOptions): Promise<RetryResult> {
  const giveUpAt = opts.monotonic() + opts.retryForMs;
  for (let attempts = 1; ; attempts++) {
    const verdict = await attempt();
    if (verdict.outcome !== 'retry') return { verdict, attempts, gaveUp: false };
    const waitMs = retryWaitMs(verdict, attempts, opts);
    if (opts.monotonic() + waitMs > giveUpAt) return { verdict, attempts, gaveUp: true };
    opts.onRetry?.(attempts, verdict, waitMs);
    await opts.sleep(waitMs);
  }
}
