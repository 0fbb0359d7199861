// An integration (notify/slackClient.ts, notify/alertmanager.ts) behind the
// one retry stage (retry.ts): what the delivery queue sends through. The
// integration posts once and says how it went; this says it in the log (a
// permanent rejection once per reason, not per message), times each attempt
// for /metrics, and retries what is worth it.
import type { Logger } from '../../common/logger.js';
import { RETRY_BACKOFF } from '../config.js';
import type { DeliveryFailure } from '../vocabulary.js';
import { withRetries, type BackoffOptions, type Verdict } from './retry.js';
import type { SlackMessage } from './slackMessage.js';
import type { Placement } from './slackThreads.js';

/** `dry_run`: the dry-run sink's, for a message logged instead of posted. */
export type DeliveryResult = 'delivered' | 'failed' | 'dry_run';

/** Where alerts go: Slack, or the log in dry-run. `send` never rejects. */
export interface AlertSink {
  /** `placement`: the incident's or release's thread, for a receiver that keeps one (slackApp.ts); others ignore it. */
  send(message: SlackMessage, placement?: Placement): Promise<DeliveryResult>;
  close(): Promise<void>;
}

/** One receiver: formats and posts a message once, and classifies the answer. Never loops. */
export interface Integration<M> {
  attempt(message: M, placement?: Placement): Promise<Verdict>;
  close(): Promise<void>;
}

export interface RetryingSinkOptions extends Partial<BackoffOptions> {
  /** What the log calls the receiver ("Slack"). */
  name: string;
  /** How long one message is retried while its receiver is down or rate-limiting. */
  retryForMs: number;
  logger: Logger;
  monotonic?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** After each attempt: how long it took, and why it failed if it did (for /metrics and make test-alert). */
  onAttempt?(durationMs: number, failure: DeliveryFailure | undefined, reason: string | undefined): void;
}

export function createRetryingSink(integration: Integration<SlackMessage>, opts: RetryingSinkOptions): AlertSink {
  const { logger: log, name } = opts;
  const monotonic = opts.monotonic ?? (() => performance.now());
  const backoff: BackoffOptions = { baseMs: opts.baseMs ?? RETRY_BACKOFF.baseMs, maxMs: opts.maxMs ?? RETRY_BACKOFF.maxMs, random: opts.random ?? Math.random };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let lastRejection: string | undefined;

  async function timed(message: SlackMessage, placement: Placement | undefined): Promise<Verdict> {
    const started = performance.now();
    const verdict = await integration.attempt(message, placement);
    const failed = verdict.outcome === 'delivered' ? undefined : verdict;
    opts.onAttempt?.(performance.now() - started, failed?.failure, failed?.reason);
    return verdict;
  }

  return {
    async send(message, placement) {
      const { verdict, attempts, gaveUp } = await withRetries(() => timed(message, placement), {
        ...backoff,
        retryForMs: opts.retryForMs,
        monotonic,
        sleep,
        onRetry: (attempt, v, waitMs) => log.warn({ attempt, reason: v.reason, retryInMs: waitMs }, `${name} delivery failed; will retry`),
      });
      if (verdict.outcome === 'delivered') {
        if (lastRejection !== undefined) log.info(`${name} takes alerts again`);
        lastRejection = undefined;
        log.info({ attempt: attempts }, `alert delivered to ${name}`);
        return 'delivered';
      }
      if (gaveUp) {
        log.error({ attempts, reason: verdict.reason, retriedForMs: opts.retryForMs }, `giving up on the alert: ${name} unreachable for ${opts.retryForMs / 1000} s`);
        return 'failed';
      }
      // Permanent: the same rejection for every message until someone fixes it, so it is said once.
      if (verdict.reason !== lastRejection) log.error({ attempt: attempts, reason: verdict.reason }, `${name} rejected the alert; not retrying`);
      else log.debug({ reason: verdict.reason }, `${name} rejected the alert again`);
      lastRejection = verdict.reason;
      return 'failed';
    },
    close: () => integration.close(),
  };
}
