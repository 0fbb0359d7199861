// Posts alerts to a Slack incoming webhook. The webhook's path is its secret:
// logs name the host only, and every error text is scrubbed of the URL.
import { Agent, request } from 'undici';
import { secretUrlScrubber } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import type { SlackFailure } from '../vocabulary.js';
import type { SlackMessage } from './slackMessage.js';

export type { SlackMessage };

/** `dry_run`: the dry-run sink's, for a message logged instead of posted. */
export type DeliveryResult = 'delivered' | 'failed' | 'dry_run';

/** Where alerts go: Slack, or the log in dry-run. `send` never rejects. */
export interface AlertSink {
  send(message: SlackMessage): Promise<DeliveryResult>;
  close(): Promise<void>;
}

export interface SlackClientOptions {
  webhookUrl: string;
  connectTimeoutMs: number;
  /** Bounds one attempt end to end: connect, headers and body. */
  timeoutMs: number;
  /**
   * How long one alert is retried while Slack is down or rate-limiting. Long
   * enough to ride out an outage (the queue keeps later alerts meanwhile), so a
   * page raised during it still arrives once Slack is back.
   */
  retryForMs: number;
  logger: Logger;
  /**
   * First retry waits about this long, doubling each time. Also the shortest
   * wait of all, Retry-After included.
   */
  backoffBaseMs?: number;
  /** Caps the backoff, so an alert goes out within this long of Slack coming back. */
  maxBackoffMs?: number;
  /** A larger Retry-After is cut to this, so one 429 cannot park the queue for an hour. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** After each POST: how long it took, and why it failed if it did (for /metrics and make test-alert). */
  onAttempt?(durationMs: number, failure: SlackFailure | undefined, reason: string | undefined): void;
}

type Attempt =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; reason: string; failure: SlackFailure; retryAfterMs?: number }
  | { outcome: 'permanent'; reason: string; failure: SlackFailure };

const RESPONSE_SAMPLE = 200;

export function createSlackClient(opts: SlackClientOptions): AlertSink {
  const url = new URL(opts.webhookUrl);
  const log = opts.logger.child({ component: 'slack', host: url.host });
  const agent = new Agent({
    connect: { timeout: opts.connectTimeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = opts.random ?? Math.random;
  const backoffBaseMs = opts.backoffBaseMs ?? 1000;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;

  // Error texts can quote the URL they failed on.
  const scrub = secretUrlScrubber(opts.webhookUrl);

  async function attempt(body: string): Promise<Attempt> {
    const started = performance.now();
    const result = await post(body);
    const failed = result.outcome === 'delivered' ? undefined : result;
    opts.onAttempt?.(performance.now() - started, failed?.failure, failed?.reason);
    return result;
  }

  async function post(body: string): Promise<Attempt> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const answer = scrub((await res.body.text()).slice(0, RESPONSE_SAMPLE));
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { outcome: 'delivered' };
      const reason = `HTTP ${status}${answer ? `: ${answer}` : ''}`;
      if (status === 429) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], maxRetryAfterMs);
        const failure = 'rate_limited';
        return retryAfterMs === undefined ? { outcome: 'retry', reason, failure } : { outcome: 'retry', reason, failure, retryAfterMs };
      }
      if (status >= 500) return { outcome: 'retry', reason, failure: 'http_5xx' };
      return { outcome: 'permanent', reason, failure: 'http_4xx' };
    } catch (err) {
      return { outcome: 'retry', reason: scrub(describeError(err)), failure: isTimeout(err) ? 'timeout' : 'network' };
    }
  }

  function backoff(attemptNo: number): number {
    const ceiling = Math.min(maxBackoffMs, backoffBaseMs * 2 ** (attemptNo - 1));
    // Half fixed, half random: spreads retries without ever retrying at once.
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  return {
    async send(message) {
      const body = JSON.stringify(message);
      const giveUpAt = now() + opts.retryForMs;
      for (let attemptNo = 1; ; attemptNo++) {
        const result = await attempt(body);
        if (result.outcome === 'delivered') {
          log.info({ attempt: attemptNo }, 'alert delivered to Slack');
          return 'delivered';
        }
        if (result.outcome === 'permanent') {
          log.error({ attempt: attemptNo, reason: result.reason }, 'Slack rejected the alert; not retrying');
          return 'failed';
        }
        // A `Retry-After: 0` (or a date already past) would otherwise retry in a hot loop.
        const waitMs = Math.max(backoffBaseMs, result.retryAfterMs ?? backoff(attemptNo));
        if (now() + waitMs > giveUpAt) {
          log.error(
            { attempts: attemptNo, reason: result.reason, retriedForMs: opts.retryForMs },
            'giving up on the alert: Slack unreachable for SLACK_RETRY_FOR_SEC',
          );
          return 'failed';
        }
        log.warn({ attempt: attemptNo, reason: result.reason, retryInMs: waitMs }, 'Slack delivery failed; will retry');
        await sleep(waitMs);
      }
    },
    async close() {
      await agent.destroy();
    },
  };
}

/** Retry-After is seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | string[] | undefined, maxMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(maxMs, Math.max(0, ms));
}

/** AbortSignal.timeout's TimeoutError, or undici's connect, headers and body timeouts. */
function isTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  return err.name === 'TimeoutError' || code.includes('TIMEOUT');
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.name}: ${err.message}${cause}`;
}
