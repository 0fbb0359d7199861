// Slack's incoming webhook as an integration: posts a message once and
// classifies Slack's answer (retry.ts); the retry stage (sink.ts) does the
// rest. The webhook's path is its secret: logs name the host only, and every
// error text is scrubbed of the URL.
import { Agent } from 'undici';
import { secretUrlScrubber } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import { httpCall } from './http.js';
import { classifyAnswer, classifyError, type Verdict } from './retry.js';
import { createRetryingSink, type AlertSink, type Integration, type RetryingSinkOptions } from './sink.js';
import type { SlackMessage } from './slackMessage.js';

export type { AlertSink, DeliveryResult } from './sink.js';
export type { SlackMessage };

export interface SlackWebhookOptions {
  webhookUrl: string;
  connectTimeoutMs: number;
  /** Bounds one attempt end to end: connect, headers and body. */
  timeoutMs: number;
  /** A larger Retry-After is cut to this, so one 429 cannot park the queue for an hour. */
  maxRetryAfterMs?: number;
  /** Wall clock, for a Retry-After given as a date. */
  now?: () => number;
}

export function slackWebhook(opts: SlackWebhookOptions): Integration<SlackMessage> {
  const url = new URL(opts.webhookUrl);
  const agent = new Agent({ connect: { timeout: opts.connectTimeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  // Error texts can quote the URL they failed on.
  const scrub = secretUrlScrubber(opts.webhookUrl);
  const classify = { scrub, maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000, now: opts.now ?? Date.now };
  return {
    async attempt(message): Promise<Verdict> {
      try {
        const answer = await httpCall(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(message),
          dispatcher: agent,
          timeoutMs: opts.timeoutMs,
        });
        return classifyAnswer(answer, classify);
      } catch (err) {
        return classifyError(err, scrub);
      }
    },
    close: () => agent.destroy(),
  };
}

export interface SlackClientOptions extends SlackWebhookOptions, Omit<RetryingSinkOptions, 'name' | 'logger' | 'baseMs' | 'maxMs'> {
  logger: Logger;
  /** First retry waits about this long, doubling each time. Also the shortest wait of all, Retry-After included. */
  backoffBaseMs?: number;
  /** Caps the backoff, so an alert goes out within this long of Slack coming back. */
  maxBackoffMs?: number;
}

/** The webhook behind the retry stage: what the daemon and make test-alert send through. */
export function createSlackClient(opts: SlackClientOptions): AlertSink {
  const host = new URL(opts.webhookUrl).host;
  return createRetryingSink(slackWebhook(opts), {
    ...opts,
    name: 'Slack',
    logger: opts.logger.child({ component: 'slack', host }),
    ...(opts.backoffBaseMs === undefined ? {} : { baseMs: opts.backoffBaseMs }),
    ...(opts.maxBackoffMs === undefined ? {} : { maxMs: opts.maxBackoffMs }),
  });
}
