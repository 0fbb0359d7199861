// One call to Slack's Web API (https://docs.slack.dev/apis/web-api/) and its
// answer's verdict. Slack answers most failures with HTTP 200 and
// `{"ok": false, "error": "…"}`: the error names what is wrong, so it decides
// whether a retry can help, and for the permanent ones what the operator must
// fix. Rate limits are HTTP 429 with Retry-After, per method; the retry stage
// waits them out.
import type { Dispatcher } from 'undici';
import { httpCall } from './http.js';
import { classifyAnswer, classifyError, type ClassifyOptions, type Verdict } from './retry.js';

/** Slack's passing troubles: worth the same call again later. */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

/** The message a call names is gone (deleted in Slack, or too old to edit): a new one takes its place. */
export const MESSAGE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'thread_not_found']);

/** What to do about each permanent error: said once in the log, and by make test-alert. */
export const FIXES: Record<string, string> = {
  not_authed: 'SLACK_BOT_TOKEN is not reaching Slack: set it to the app\'s Bot User OAuth Token (xoxb-…)',
  invalid_auth: 'SLACK_BOT_TOKEN is not a valid token: copy the Bot User OAuth Token from the app\'s OAuth & Permissions page',
  token_revoked: 'SLACK_BOT_TOKEN was revoked: reinstall the app to the workspace and put the new Bot User OAuth Token in .env',
  token_expired: 'SLACK_BOT_TOKEN expired (token rotation is on): turn rotation off for this app, or give it a non-expiring token',
  account_inactive: 'the app\'s bot user is deactivated: reinstall the app to the workspace',
  missing_scope: 'the app lacks the chat:write scope: add it under OAuth & Permissions, reinstall the app, and use the new token',
  not_in_channel: 'the bot is not in SLACK_CHANNEL: invite it (type /invite @your-app-name in the channel)',
  channel_not_found: 'SLACK_CHANNEL is not a channel this token can see: use the channel ID (C…, at the bottom of the channel\'s details), not its name',
  is_archived: 'SLACK_CHANNEL is archived: unarchive it or choose another channel',
  restricted_action: 'the workspace does not let this app post in SLACK_CHANNEL: ask a Slack admin',
};

type Failed = Extract<Verdict, { outcome: 'retry' | 'permanent' }>;

export type ApiAnswer = { ok: true; body: Record<string, unknown> } | { ok: false; verdict: Failed; error?: string };

export interface WebApiOptions extends ClassifyOptions {
  apiUrl: string;
  token: string;
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/** Calls `method` once with `args` as JSON. Never throws. */
export async function callWebApi(method: string, args: Record<string, unknown>, opts: WebApiOptions): Promise<ApiAnswer> {
  let answer;
  try {
    answer = await httpCall(`${opts.apiUrl.replace(/\/+$/, '')}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${opts.token}` },
      body: JSON.stringify(args),
      timeoutMs: opts.timeoutMs,
      ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
    });
  } catch (err) {
    return { ok: false, verdict: retryOnly(classifyError(err, opts.scrub)) };
  }
  if (answer.status < 200 || answer.status >= 300) return { ok: false, verdict: retryOnly(classifyAnswer(answer, opts)) };
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    // A proxy's page, or an answer cut at MAX_ANSWER_BYTES: it may have worked, but there is no ts to keep.
    return { ok: false, verdict: { outcome: 'retry', reason: `${method}: HTTP ${answer.status} without a JSON answer`, failure: 'http_5xx' } };
  }
  if (typeof body !== 'object' || body === null) return { ok: false, verdict: { outcome: 'retry', reason: `${method}: not a Web API answer`, failure: 'http_5xx' } };
  const record = body as Record<string, unknown>;
  if (record.ok === true) return { ok: true, body: record };
  const error = typeof record.error === 'string' ? record.error.slice(0, 100) : 'unknown_error';
  return { ok: false, error, verdict: verdictOf(method, error) };
}

/** An `ok: false` error's verdict: transient ones are retried, the rest are permanent, with their fix when known. */
export function verdictOf(method: string, error: string): Failed {
  if (TRANSIENT.has(error)) return { outcome: 'retry', reason: `${method}: ${error}`, failure: error === 'ratelimited' ? 'rate_limited' : 'http_5xx' };
  const fix = FIXES[error];
  return { outcome: 'permanent', reason: `${method}: ${error}${fix === undefined ? '' : ` (${fix})`}`, failure: 'rejected' };
}

function retryOnly(verdict: Verdict): Failed {
  // classifyAnswer says delivered only for a 2xx, which callWebApi reads itself.
  return verdict.outcome === 'delivered' ? { outcome: 'retry', reason: 'unexpected', failure: 'http_5xx' } : verdict;
}
