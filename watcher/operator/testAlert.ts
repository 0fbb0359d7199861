// `ctl test-alert` (make test-alert): one marked message down every path
// alerts take, with the settings the daemon uses and no policy: Slack (the
// bot token's Web API, else the webhook) and each Alertmanager
// (ALERTMANAGER_URL), the way to check a new app, webhook or route and what
// each receiver says about it.
// One attempt each, so an operator gets the answer now rather than after the
// retry time.
import { createLogger } from '../../common/logger.js';
import { formatTestMessage } from '../notify/slackMessage.js';
import { endpoint, hostOf } from '../notify/alertmanagerApi.js';
import { testAlertmanagerAlert, TEST_ALERT_MS } from '../notify/alertmanagerAlert.js';
import { httpCall } from '../notify/http.js';
import { classifyAnswer, classifyError, type Verdict } from '../notify/retry.js';
import { createSlackClient } from '../notify/slackClient.js';
import { callWebApi, type WebApiOptions } from '../notify/slackWebApi.js';
import { appendHistory } from '../state/history.js';
import { REASON_MAX } from '../history.js';
import type { DeliveryFailure } from '../vocabulary.js';
import { auditEntry } from './historyCommands.js';

export interface TestAlertSettings {
  CONTROL_DIR: string;
  SLACK_WEBHOOK_URL?: string | undefined;
  SLACK_BOT_TOKEN?: string | undefined;
  SLACK_CHANNEL?: string | undefined;
  SLACK_API_URL: string;
  SLACK_CONNECT_TIMEOUT_MS: number;
  SLACK_TIMEOUT_MS: number;
  ALERTMANAGER_URL: readonly string[];
  ALERTMANAGER_STACK: string;
  ALERTMANAGER_INSTANCE: string;
  ALERTMANAGER_TIMEOUT_MS: number;
}

const AM_HINTS: Record<DeliveryFailure, string> = {
  http_4xx: 'Alertmanager refused it: check the URL (its base, not /api/v2) and the credentials in ALERTMANAGER_URL.',
  http_5xx: 'Alertmanager failed to take it. Real alerts are retried; check its log (docker compose logs alertmanager).',
  rate_limited: 'something in front of Alertmanager is rate-limiting; real alerts wait for Retry-After.',
  timeout: 'no answer in time: check that this host reaches Alertmanager (make status, docker compose ps alertmanager).',
  network: 'no connection: check that Alertmanager runs and that ALERTMANAGER_URL names it as this container reaches it.',
  rejected: 'Alertmanager refused it: check its log (docker compose logs alertmanager).',
};

const HINTS: Record<DeliveryFailure, string> = {
  http_4xx: 'Slack rejected it: the webhook URL is wrong or was revoked. Create a new one, put it in .env, run make up, try again.',
  http_5xx: 'Slack failed to take it. Real alerts are retried for SLACK_RETRY_FOR_SEC; try again in a minute.',
  rate_limited: 'Slack is rate-limiting this webhook. Real alerts wait for Retry-After; try again in a minute.',
  timeout: 'no answer in time: check that this host can reach the webhook host (proxy, firewall, DNS).',
  network: 'no connection: check that this host can reach the webhook host (proxy, firewall, DNS).',
  rejected: 'Slack refused it: the reason above says what to fix; fix it, run make up, try again.',
};

/** Prints the outcome of each path; returns the exit code: 0 all delivered (or dry-run), 1 any not. */
export async function testAlert(settings: TestAlertSettings, who: string | undefined, out: NodeJS.WritableStream): Promise<number> {
  const at = Date.now();
  // A receiver's answer is anybody's text: the audit trail takes it printable and short.
  const record = (outcome: 'ok' | 'failed', reason: string) => {
    const printable = reason.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').slice(0, REASON_MAX);
    try {
      appendHistory(settings.CONTROL_DIR, auditEntry({ who }, { action: 'test_alert', outcome, reason: printable }));
    } catch (err) {
      out.write(`WARNING: not recorded in the history: ${(err as Error).message}\n`);
    }
  };
  const app = settings.SLACK_BOT_TOKEN !== undefined && settings.SLACK_CHANNEL !== undefined;
  if (!app && settings.SLACK_WEBHOOK_URL === undefined && settings.ALERTMANAGER_URL.length === 0) {
    record('ok', 'dry-run: not posted');
    out.write(
      'dry-run: SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL are empty, so nothing was posted. Put one in .env (README, Connect Slack), run make up, then make test-alert again.\n',
    );
    return 0;
  }
  const results: { ok: boolean; said: string }[] = [];
  if (app) results.push(await viaSlackApp(settings, at, who ?? 'unknown', out));
  else if (settings.SLACK_WEBHOOK_URL !== undefined) results.push(await viaSlack(settings.SLACK_WEBHOOK_URL, settings, at, who ?? 'unknown', out));
  for (const url of settings.ALERTMANAGER_URL) results.push(await viaAlertmanager(url, settings, at, who ?? 'unknown', out));
  const ok = results.every((r) => r.ok);
  record(ok ? 'ok' : 'failed', results.map((r) => r.said).join('; '));
  return ok ? 0 : 1;
}

async function viaSlack(webhookUrl: string, settings: TestAlertSettings, at: number, who: string, out: NodeJS.WritableStream) {
  const host = new URL(webhookUrl).host;
  let took = 0;
  let failure: DeliveryFailure | undefined;
  let reason: string | undefined;
  const client = createSlackClient({
    webhookUrl,
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
    if ((await client.send(formatTestMessage({ at, who }))) === 'delivered') {
      out.write(`test alert delivered to ${host} in ${took} ms: it should be in the channel now\n`);
      return { ok: true, said: `delivered to ${host}` };
    }
    const why = reason ?? 'no answer';
    out.write(`test alert NOT delivered to ${host}: ${why}\n${failure === undefined ? '' : `${HINTS[failure]}\n`}`);
    return { ok: false, said: `${host}: ${why}` };
  } finally {
    await client.close();
  }
}

/** The test message's reply in its own thread (the alert gallery, docs/alerts.md, shows it). */
export const TEST_REPLY_TEXT = "Test reply: an incident's changes go in its thread, like this one.";

/**
 * The bot token's whole path, one call each: auth.test (the token), a marked
 * message in the channel (chat:write, the invite, the channel ID), a reply in
 * its own thread, and an edit of it: what every incident's message needs.
 */
async function viaSlackApp(settings: TestAlertSettings, at: number, who: string, out: NodeJS.WritableStream) {
  const channel = settings.SLACK_CHANNEL!;
  const api: WebApiOptions = { apiUrl: settings.SLACK_API_URL, token: settings.SLACK_BOT_TOKEN!, timeoutMs: settings.SLACK_TIMEOUT_MS, maxRetryAfterMs: 60_000, now: Date.now };
  const host = new URL(settings.SLACK_API_URL).host;
  const failed = (step: string, reason: string, failure: DeliveryFailure) => {
    out.write(`test alert NOT delivered via ${host} (${step}): ${reason}\n${HINTS[failure]}\n`);
    return { ok: false, said: `${host} ${step}: ${reason}` };
  };
  const auth = await callWebApi('auth.test', {}, api);
  if (!auth.ok) return failed('the token', auth.verdict.reason, auth.verdict.failure);
  out.write(`bot token ok: ${String(auth.body.user ?? 'the bot')} in ${String(auth.body.team ?? 'the workspace')}\n`);
  const message = formatTestMessage({ at, who });
  const posted = await callWebApi('chat.postMessage', { channel, text: message.text, blocks: message.blocks }, api);
  if (!posted.ok) return failed('posting', posted.verdict.reason, posted.verdict.failure);
  const ts = String(posted.body.ts);
  const reply = { channel, thread_ts: ts, text: TEST_REPLY_TEXT };
  const replied = await callWebApi('chat.postMessage', reply, api);
  if (!replied.ok) return failed('replying in its thread', replied.verdict.reason, replied.verdict.failure);
  const edited = formatTestMessage({ at, who, edited: Date.now() });
  const update = await callWebApi('chat.update', { channel, ts, text: edited.text, blocks: edited.blocks }, api);
  if (!update.ok) return failed('editing it', update.verdict.reason, update.verdict.failure);
  out.write(`test alert posted to channel ${channel} via ${host}, replied in its thread and edited: it should be in the channel now\n`);
  return { ok: true, said: `posted, replied and edited in ${channel} via ${host}` };
}

/** One marked alert posted as the daemon posts incidents: Alertmanager routes it to Slack after its group_wait. */
async function viaAlertmanager(url: string, settings: TestAlertSettings, at: number, who: string, out: NodeJS.WritableStream) {
  const host = hostOf(url);
  const alert = testAlertmanagerAlert({ stack: settings.ALERTMANAGER_STACK, instance: settings.ALERTMANAGER_INSTANCE, now: at, who });
  let verdict: Verdict;
  try {
    const { url: target, headers } = endpoint(new URL(url), '/api/v2/alerts');
    const answer = await httpCall(target, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
      timeoutMs: settings.ALERTMANAGER_TIMEOUT_MS,
    });
    verdict = classifyAnswer(answer, { maxRetryAfterMs: 60_000, now: Date.now });
  } catch (err) {
    verdict = classifyError(err);
  }
  if (verdict.outcome === 'delivered') {
    out.write(
      `test alert taken by Alertmanager ${host}: it reaches the channel after its group_wait (ALERTMANAGER_GROUP_WAIT), and resolves in ${TEST_ALERT_MS / 60_000} min\n`,
    );
    return { ok: true, said: `taken by Alertmanager ${host}` };
  }
  out.write(`test alert NOT taken by Alertmanager ${host}: ${verdict.reason}\n${AM_HINTS[verdict.failure]}\n`);
  return { ok: false, said: `Alertmanager ${host}: ${verdict.reason}` };
}
