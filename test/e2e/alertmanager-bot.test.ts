// Issue 25, Slack as the incident's timeline: the `alertmanager` Compose
// profile with a bot token (ALERTMANAGER_SLACK_BOT_TOKEN) instead of the
// webhook. Its entrypoint renders Alertmanager's Slack receiver for Slack's
// Web API with update_message (docs/alertmanager.md), and the real
// Alertmanager talks to the Web API stand-in of the e2e receiver
// (test/e2e/receiver/slackApi.mjs). Alertmanager 0.33 calls
// https://slack.com/api/… whatever it is told, so the overlay
// test/e2e/slack-web-api.compose.yml names the receiver slack.com on the
// stack's network, with a certificate made here that Alertmanager alone
// trusts: the config under test is the one a user gets.
// One failover that both watchers see (a client through each Nginx) is one
// message (chat.postMessage, once), edited on its ts (chat.update) until it
// shows the all-clear; both settings are set, and the token wins, saying so.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { selfSignedCert } from './support/selfSignedCert.js';
import { chaos, PORTS, receivedPosts, sleep, startStack, type Stack } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e alertmanager with a bot token');

const NGINX_B_PORT = PORTS.nginx + 3;
const WATCHER_B_PORT = PORTS.watcher + 1;
const ALERTMANAGER_PORT = PORTS.nginx + 40;
const RESEND_SEC = 3;
const GROUP_INTERVAL_SEC = 2;
// Each resolution needs RECOVERY_HOLD_SEC (3 s, startStack's) of steady service, then a group_interval tick.
const SETTLE_MS = (RESEND_SEC + GROUP_INTERVAL_SEC + 1) * 1000;
const TOKEN = 'xoxb-e2e';
const CHANNEL = 'C0STANDIN';
const WEBHOOK_SECRET = 'alertmanager-bot-webhook-secret';

interface Attachment {
  title?: string;
  text?: string;
  color?: string;
}
/** One call the stand-in took (GET /slack-api/calls). */
interface ApiCall {
  method: string;
  args: { channel?: string; ts?: string; attachments?: Attachment[] };
  token?: string;
  status: number;
  answer: { ok: boolean; ts?: string; channel?: string; error?: string };
  at: number;
}
/** A top-level message as the stand-in's channel shows it (GET /slack-api/messages). */
interface ChannelMessage {
  channel: string;
  ts: string;
  attachments?: Attachment[];
  edits: number;
  versions: { attachments?: Attachment[] }[];
  replies: unknown[];
}

const slackApi = async <T>(what: 'calls' | 'messages'): Promise<T> => (await (await fetch(`http://127.0.0.1:${PORTS.receiver}/slack-api/${what}`)).json()) as T;
const first = (m: { attachments?: Attachment[] }) => m.attachments?.[0] ?? {};

const t0 = Date.now();
const mark = (what: string) => console.log(`[e2e] alertmanager-bot +${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

/** What to show when a wait fails: the stand-in's calls and the end of Alertmanager's log (set once the stack is up). */
let diagnose: () => Promise<string> = async () => `the stand-in's calls: ${JSON.stringify(await slackApi('calls').catch(() => 'unreadable'))}`;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) {
        mark(what);
        return value;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}; ${await diagnose()}`);
    await sleep(250);
  }
}

/** The stack's alerts Alertmanager holds, by alert name and watcher. */
async function alertmanagerAlerts(): Promise<{ labels: Record<string, string>; endsAt: string }[]> {
  const res = await fetch(`http://127.0.0.1:${ALERTMANAGER_PORT}/api/v2/alerts?filter=${encodeURIComponent('stack="e2e-bot"')}`);
  return (await res.json()) as never;
}

/** What a watcher has decided, from its /stats. */
async function watcherSaid(port: number, phrase: string, since: number): Promise<boolean> {
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { recentAlerts: { text: string; raisedAt: string }[] };
  return stats.recentAlerts.some((a) => a.text.includes(phrase) && Date.parse(a.raisedAt) >= since - 1000);
}

describe.skipIf(!enabled)('Alertmanager profile with a bot token: one message per incident, edited to resolved (update_message)', () => {
  let stack: Stack;
  let traffic: Promise<void> | undefined;
  let stopTraffic = false;
  const startedAt = Date.now();

  beforeAll(async () => {
    // Read by the receiver (root) and Alertmanager (nobody) through a bind mount: a throwaway test key.
    // mkdtemp makes the directory 0700, which would hide the certificate from nobody.
    const tlsDir = mkdtempSync(path.join(tmpdir(), 'bg-e2e-slack-tls-'));
    chmodSync(tlsDir, 0o755);
    const { cert, key } = selfSignedCert('slack.com');
    writeFileSync(path.join(tlsDir, 'cert.pem'), cert, { mode: 0o644 });
    writeFileSync(path.join(tlsDir, 'key.pem'), key, { mode: 0o644 });
    stack = await startStack(
      'alertmanager-bot',
      {
        ALERTMANAGER_URL: 'http://alertmanager:9093',
        ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN,
        ALERTMANAGER_SLACK_CHANNEL: CHANNEL,
        // Set too: the token wins, and the entrypoint says so.
        ALERTMANAGER_SLACK_WEBHOOK_URL: `http://slack_receiver:9000/services/T0AM/B0AM/${WEBHOOK_SECRET}`,
        ALERTMANAGER_GROUP_WAIT: '1s',
        ALERTMANAGER_GROUP_INTERVAL: `${GROUP_INTERVAL_SEC}s`,
        ALERTMANAGER_REPEAT_INTERVAL: '1h',
        ALERTMANAGER_RESEND_SEC: String(RESEND_SEC),
        ALERTMANAGER_STACK: 'e2e-bot',
        ALERTMANAGER_PORT: String(ALERTMANAGER_PORT),
        NGINX_B_PORT: String(NGINX_B_PORT),
        WATCHER_B_HOST_PORT: String(WATCHER_B_PORT),
        // The second watcher posts to Alertmanager only; the first one's webhook is the receiver (receiver.compose.yml).
        SLACK_WEBHOOK_URL: '',
        // Failovers only: a few masked errors must not open an error-rate incident with its own messages.
        ERROR_RATE_THRESHOLD: '50',
        SLACK_TLS_DIR: tlsDir,
      },
      { profiles: ['alertmanager'], overlays: ['test/e2e/slack-web-api.compose.yml'] },
    );
    const standIn = diagnose;
    diagnose = async () => `${await standIn()}; Alertmanager's log ends: ${(await stack.compose('logs', '--no-color', '--tail', '20', 'alertmanager').catch((err: unknown) => String(err))).trim()}`;
    // A client through each Nginx, as a load balancer would spread them: both watchers see the failover.
    traffic = (async () => {
      while (!stopTraffic) {
        await Promise.all(
          [PORTS.nginx, NGINX_B_PORT].map((port) =>
            fetch(`http://127.0.0.1:${port}/version`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) })
              .then((r) => r.arrayBuffer())
              .catch(() => undefined),
          ),
        );
        await sleep(50);
      }
    })();
  });

  afterAll(async () => {
    stopTraffic = true;
    await traffic;
    await stack?.down();
    console.log(`[e2e] alertmanager-bot suite: ${((Date.now() - startedAt) / 1000).toFixed(1)} s wall`);
  });

  it('with the webhook set too, the entrypoint says it uses the bot token; neither secret is in the log', async () => {
    const log = await stack.compose('logs', '--no-color', 'alertmanager');
    expect(log).toContain(
      `alertmanager-entrypoint: ALERTMANAGER_SLACK_BOT_TOKEN and ALERTMANAGER_SLACK_WEBHOOK_URL are both set: using the bot token (Slack's Web API, channel ${CHANNEL}, one message per incident edited as it changes); the webhook is not used`,
    );
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(WEBHOOK_SECRET);
  });

  it('one failover seen by both watchers: one chat.postMessage, then chat.update on its ts until it shows the all-clear', async () => {
    const since = Date.now();
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    // Both watchers' reports reach Alertmanager: one incident, two alerts (instance).
    await waitFor('both watchers reporting the failover to Alertmanager', 20_000, async () => {
      const instances = new Set((await alertmanagerAlerts()).filter((a) => a.labels.alertname === 'BlueGreenFailover').map((a) => a.labels.instance));
      return instances.size === 2 ? true : undefined;
    });
    const opened = await waitFor('the message naming both watchers', 20_000, async () => {
      const [m] = await slackApi<ChannelMessage[]>('messages');
      const text = String(first(m ?? {}).text ?? '');
      return m !== undefined && text.includes('(seen by alert_watcher)') && text.includes('(seen by alert_watcher_b)') ? m : undefined;
    });
    expect(first(opened).title).toBe('Failover detected: pool changed blue → green');
    expect(first(opened).color).toBe('danger');
    console.log(`[e2e] alertmanager-bot: the message named both watchers ${Date.now() - since} ms after chaos started (${opened.edits} edit(s) so far)`);

    const stopped = Date.now();
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitFor('both watchers resolving', 30_000, async () =>
      (await watcherSaid(PORTS.watcher, 'Recovered', since)) && (await watcherSaid(WATCHER_B_PORT, 'Recovered', since)) ? true : undefined,
    );
    const resolved = await waitFor('the message edited to the all-clear', 20_000, async () => {
      const [m] = await slackApi<ChannelMessage[]>('messages');
      return m !== undefined && /^Recovered: pool changed green → blue/.test(String(first(m).title)) ? m : undefined;
    });
    console.log(`[e2e] alertmanager-bot: edited to the all-clear ${Date.now() - stopped} ms after chaos stopped`);
    // Nothing more comes: no second message, no further edit once the group is flushed.
    await sleep(SETTLE_MS);

    const calls = await slackApi<ApiCall[]>('calls');
    console.log(`[e2e] alertmanager-bot: the stand-in's calls: ${calls.map((c) => `${c.method} ${c.args.ts ?? ''} "${String(first(c.args).title)}"`.replace('  ', ' ')).join('; ')}`);
    const posts = calls.filter((c) => c.method === 'chat.postMessage');
    const updates = calls.filter((c) => c.method === 'chat.update');
    expect(calls.map((c) => c.method).filter((m) => m !== 'chat.postMessage' && m !== 'chat.update')).toEqual([]);
    // One top-level message, posted once, with the bot token, in the channel set.
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post).toMatchObject({ status: 200, token: 'xoxb-…', args: { channel: CHANNEL }, answer: { ok: true, channel: CHANNEL } });
    expect(first(post!.args).title).toBe('Failover detected: pool changed blue → green');
    const ts = post!.answer.ts;
    expect(ts).toMatch(/^\d+\.\d{6}$/);
    // Every later notification edited that message: the ts and channel the post answered with.
    expect(updates.length).toBeGreaterThanOrEqual(1);
    for (const u of updates) {
      expect(u).toMatchObject({ status: 200, token: 'xoxb-…', args: { channel: CHANNEL, ts }, answer: { ok: true, ts } });
      expect(u.at).toBeGreaterThan(post!.at);
    }
    // The last edit is the all-clear; none before it is.
    const titles = updates.map((u) => String(first(u.args).title));
    expect(titles.at(-1)).toMatch(/^Recovered: pool changed green → blue/);
    expect(titles.slice(0, -1).every((t) => t === 'Failover detected: pool changed blue → green' || t.startsWith('Still open for some watchers: Failover detected'))).toBe(true);
    expect(updates.at(-1)!.at).toBeGreaterThan(stopped);

    // The channel as Slack shows it: that one message, no thread, now the all-clear, each earlier state kept as an edit.
    const messages = await slackApi<ChannelMessage[]>('messages');
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({ channel: CHANNEL, ts, edits: updates.length, replies: [] });
    expect(first(message!).title).toBe(first(resolved).title);
    expect(first(message!).color).toBe('good');
    expect(first(message!.versions[0]!).title).toBe('Failover detected: pool changed blue → green');
    // And nothing of Alertmanager's (Slack attachments) went to its webhook, though it is set; the first
    // watcher's own messages (Block Kit) go there.
    expect((await receivedPosts()).filter((p) => p.receivedAt >= since && Array.isArray((p.body as { attachments?: unknown }).attachments))).toEqual([]);
    await waitFor('no active alert once every pool is healthy', 10_000, async () => ((await alertmanagerAlerts()).every((a) => Date.parse(a.endsAt) <= Date.now()) ? true : undefined));
  });
});
