// `ctl test-alert` (make test-alert), the built CLI against a local webhook
// receiver: one marked message through the real Slack client, Slack's answer
// printed with what to do about it, the exit code scripts can use, an entry in
// the audit trail, and never the webhook's secret path in the output.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readHistory } from '../../../watcher/state/history.js';
import { SECRET_PATH } from '../../../testkit/receiver.js';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';
import { runCtlWith } from './runCtl.js';
import { startSlackApi, STAND_IN_CHANNEL, STAND_IN_TOKEN, type SlackApiServer } from '../../support/slackApiServer.js';

let dir: string;
let receiver: Receiver;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'test-alert-'));
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const testAlert = (env: Record<string, string>) => runCtlWith(env, dir, 'test-alert', '--who', 'alice@ops-1');
const lastEntry = () => readHistory(dir).entries.at(-1);

describe('ctl test-alert', () => {
  it('posts one marked message and says it was delivered', async () => {
    const r = await testAlert({ SLACK_WEBHOOK_URL: receiver.url() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^test alert delivered to 127\.0\.0\.1:\d+ in \d+ ms/);
    expect(receiver.requests).toHaveLength(1);
    const body = JSON.parse(receiver.requests[0]!.body) as { text: string };
    expect(body.text).toMatch(/^Test alert from the bluegreen watcher: no action needed$/);
    expect(receiver.requests[0]!.body).toContain('alice@ops-1');
    expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'ok', who: 'alice@ops-1' });
  });

  it("prints Slack's answer to a revoked webhook, what to do, and exits 1 without the secret", async () => {
    receiver.answerNext(404);
    const r = await testAlert({ SLACK_WEBHOOK_URL: receiver.url() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^test alert NOT delivered to 127\.0\.0\.1:\d+: HTTP 404: error\n/);
    expect(r.stdout).toMatch(/wrong or was revoked.*make up/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET_PATH.split('/').at(-1));
    expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'failed', reason: expect.stringContaining('HTTP 404') });
  });

  it('tries once, not for SLACK_RETRY_FOR_SEC, when Slack fails', async () => {
    receiver.answerByDefault(503);
    const r = await testAlert({ SLACK_WEBHOOK_URL: receiver.url(), SLACK_RETRY_FOR_SEC: '900' });
    expect(r.code).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    expect(r.stdout).toMatch(/HTTP 503/);
    expect(r.stdout).toMatch(/try again in a minute/);
  });

  it('says when it got no answer in time', async () => {
    receiver.answerByDefault('hang');
    const r = await testAlert({ SLACK_WEBHOOK_URL: receiver.url(), SLACK_TIMEOUT_MS: '300' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT delivered/);
    expect(r.stdout).toMatch(/can reach the webhook host/);
  });

  it('in dry-run, posts nothing and says so, and how to connect Slack', async () => {
    const r = await testAlert({});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dry-run: SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL are empty, so nothing was posted\..*\.env.*make up/);
    expect(receiver.requests).toHaveLength(0);
    expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'ok', reason: 'dry-run: not posted' });
  });

  it('stops at a bad webhook setting with one config error line, not echoing it', async () => {
    const r = await testAlert({ SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T/B/s3cretTok' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ctl: config error: SLACK_WEBHOOK_URL: expected an http(s) URL (got a value, hidden)\n');
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('ctl test-alert with a bot token', () => {
  let api: SlackApiServer;
  beforeEach(async () => {
    api = await startSlackApi();
  });
  afterEach(() => api.close());
  const app = (fields: Record<string, string> = {}) =>
    testAlert({ SLACK_BOT_TOKEN: STAND_IN_TOKEN, SLACK_CHANNEL: STAND_IN_CHANNEL, SLACK_API_URL: api.url, SLACK_WEBHOOK_URL: receiver.url(), ...fields });

  it('checks the token, posts a marked message, replies in its thread and edits it: all an incident needs', async () => {
    const r = await app();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `bot token ok: bluegreen-bot in Stand-in\ntest alert posted to channel ${STAND_IN_CHANNEL} via ${new URL(api.url).host}, replied in its thread and edited: it should be in the channel now\n`,
    );
    expect(api.calls().map((c) => c.method)).toEqual(['auth.test', 'chat.postMessage', 'chat.postMessage', 'chat.update']);
    const [message] = api.messages();
    expect(message).toMatchObject({ text: 'Test alert from the bluegreen watcher: no action needed', edits: 1 });
    expect(message!.replies).toHaveLength(1);
    // The bot token wins over the webhook: one message, not two.
    expect(receiver.requests).toHaveLength(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(STAND_IN_TOKEN);
    expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'ok' });
  });

  it.each([
    ['chat.postMessage', 'not_in_channel', 'posting', /invite it \(type \/invite @your-app-name in the channel\)/],
    ['chat.postMessage', 'missing_scope', 'posting', /add it under OAuth & Permissions/],
    ['auth.test', 'invalid_auth', 'the token', /copy the Bot User OAuth Token/],
  ])('%s answering %s: says which step failed, what to fix, and exits 1', async (method, error, step, fix) => {
    api.fail(method, { error });
    const r = await app();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`test alert NOT delivered via ${new URL(api.url).host} (${step}): ${method}: ${error} (`);
    expect(r.stdout).toMatch(fix);
    expect(api.messages()).toEqual([]);
    expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'failed', reason: expect.stringContaining(error) });
  });

  it('stops at a token without its channel with one config error line', async () => {
    const r = await testAlert({ SLACK_BOT_TOKEN: STAND_IN_TOKEN });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ctl: config error: SLACK_CHANNEL: required with SLACK_BOT_TOKEN: the ID of the channel the bot posts in\n');
  });
});

describe('ctl test-alert through Alertmanager', () => {
  it('posts one marked alert to each Alertmanager of ALERTMANAGER_URL, as the daemon posts incidents, and says each took it', async () => {
    const am = await startReceiver();
    try {
      const r = await testAlert({ ALERTMANAGER_URL: am.url('/'), ALERTMANAGER_STACK: 'prod', ALERTMANAGER_INSTANCE: 'alert_watcher' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^test alert taken by Alertmanager http:\/\/127\.0\.0\.1:\d+: it reaches the channel after its group_wait/);
      expect(am.requests.map((q) => q.path)).toEqual(['/api/v2/alerts']);
      const [alert] = JSON.parse(am.requests[0]!.body) as { labels: Record<string, string>; annotations: Record<string, string>; endsAt: string }[];
      expect(alert!.labels).toEqual({ alertname: 'BlueGreenTestAlert', severity: 'info', stack: 'prod', instance: 'alert_watcher' });
      expect(alert!.annotations.description).toContain('alice@ops-1');
      // It resolves by itself: no second command needed.
      expect(Date.parse(alert!.endsAt)).toBeGreaterThan(Date.now());
      expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'ok' });
    } finally {
      await am.close();
    }
  });

  it('tests both paths when both are set, and exits 1 naming the one that refused, with what to check', async () => {
    const am = await startReceiver();
    am.answerNext(401);
    try {
      const r = await testAlert({ SLACK_WEBHOOK_URL: receiver.url(), ALERTMANAGER_URL: am.url('/') });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^test alert delivered to 127\.0\.0\.1:\d+ in \d+ ms/m);
      expect(r.stdout).toMatch(/^test alert NOT taken by Alertmanager http:\/\/127\.0\.0\.1:\d+: HTTP 401: error$/m);
      expect(r.stdout).toContain('check the URL (its base, not /api/v2) and the credentials');
      expect(receiver.requests).toHaveLength(1);
      expect(lastEntry()).toMatchObject({ action: 'test_alert', outcome: 'failed' });
      expect(r.stdout).not.toContain(SECRET_PATH);
    } finally {
      await am.close();
    }
  });
});
