// `ctl test-alert` (make test-alert): one marked message through the real
// Slack client, with the webhook and timeouts the daemon uses, and no policy:
// the way to check a new webhook, and what Slack says about it. One attempt,
// so an operator gets Slack's answer now rather than after SLACK_RETRY_FOR_SEC.
import { createLogger } from '../../common/logger.js';
import { formatTestMessage } from '../notify/slackMessage.js';
import { createSlackClient } from '../notify/slackClient.js';
import { appendHistory, REASON_MAX } from '../state/history.js';
import type { DeliveryFailure } from '../vocabulary.js';
import { auditEntry } from './historyCommands.js';

export interface TestAlertSettings {
  CONTROL_DIR: string;
  SLACK_WEBHOOK_URL?: string | undefined;
  SLACK_CONNECT_TIMEOUT_MS: number;
  SLACK_TIMEOUT_MS: number;
}

const HINTS: Record<DeliveryFailure, string> = {
  http_4xx: 'Slack rejected it: the webhook URL is wrong or was revoked. Create a new one, put it in .env, run make up, try again.',
  http_5xx: 'Slack failed to take it. Real alerts are retried for SLACK_RETRY_FOR_SEC; try again in a minute.',
  rate_limited: 'Slack is rate-limiting this webhook. Real alerts wait for Retry-After; try again in a minute.',
  timeout: 'no answer in time: check that this host can reach the webhook host (proxy, firewall, DNS).',
  network: 'no connection: check that this host can reach the webhook host (proxy, firewall, DNS).',
};

/** Prints the outcome; returns the exit code: 0 delivered or dry-run, 1 not delivered. */
export async function testAlert(settings: TestAlertSettings, who: string | undefined, out: NodeJS.WritableStream): Promise<number> {
  const message = formatTestMessage({ at: Date.now(), who: who ?? 'unknown' });
  // Slack's answer is anybody's text: the audit trail takes it printable and short.
  const record = (outcome: 'ok' | 'failed', reason: string) => {
    const printable = reason.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').slice(0, REASON_MAX);
    try {
      appendHistory(settings.CONTROL_DIR, auditEntry({ who }, { action: 'test_alert', outcome, reason: printable }));
    } catch (err) {
      out.write(`WARNING: not recorded in the history: ${(err as Error).message}\n`);
    }
  };
  if (settings.SLACK_WEBHOOK_URL === undefined) {
    record('ok', 'dry-run: not posted');
    out.write(
      'dry-run: SLACK_WEBHOOK_URL is empty, so nothing was posted. Put the webhook in .env, run make up, then make test-alert again.\n',
    );
    return 0;
  }
  const host = new URL(settings.SLACK_WEBHOOK_URL).host;
  let took = 0;
  let failure: DeliveryFailure | undefined;
  let reason: string | undefined;
  const client = createSlackClient({
    webhookUrl: settings.SLACK_WEBHOOK_URL,
    connectTimeoutMs: settings.SLACK_CONNECT_TIMEOUT_MS,
    timeoutMs: settings.SLACK_TIMEOUT_MS,
    retryForMs: 0,
    // The answer is printed below; the client's own log lines would say it twice.
    logger: createLogger('ctl', 'silent'),
    onAttempt(durationMs, f, r) {
      took = Math.round(durationMs);
      failure = f;
      reason = r;
    },
  });
  try {
    const result = await client.send(message);
    if (result === 'delivered') {
      record('ok', `delivered to ${host}`);
      out.write(`test alert delivered to ${host} in ${took} ms: it should be in the channel now\n`);
      return 0;
    }
    const why = reason ?? 'no answer';
    record('failed', `${host}: ${why}`);
    out.write(`test alert NOT delivered to ${host}: ${why}\n${failure === undefined ? '' : `${HINTS[failure]}\n`}`);
    return 1;
  } finally {
    await client.close();
  }
}
