// The bot-token mode against the stand-in for Slack's Web API: one top-level
// message per incident and release run, edited as it changes, its story in
// the thread, the all-clear broadcast; the same message after a restart; a
// deleted message replaced; Slack's limits and errors as it documents them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createSlackAppClient, POST_GAP_MS } from '../../../watcher/notify/slackApp.js';
import { formatSlackMessage } from '../../../watcher/notify/slackMessage.js';
import { placementOf } from '../../../watcher/notify/slackThreads.js';
import type { IncidentNotification, Notification, ReleaseNotification } from '../../../watcher/policy/index.js';
import { createThreadStore, THREADS_FILE } from '../../../watcher/state/slackThreads.js';
import type { DeliveryFailure } from '../../../watcher/vocabulary.js';
import { permalink } from '../../e2e/receiver/slackApi.mjs';
import { startSlackApi, STAND_IN_CHANNEL, STAND_IN_TOKEN, type SlackApiServer } from '../../support/slackApiServer.js';
import { failoverView, historyEntry } from '../core/records.js';

const AT = Date.UTC(2026, 11, 7, 3, 0, 0);

let api: SlackApiServer;
let dir: string;
let logs: string[];
let failures: (DeliveryFailure | undefined)[];
/** The fake steady clock: sleeps advance it at once, and are recorded. */
let clock: number;
let slept: number[];

beforeEach(async () => {
  api = await startSlackApi();
  dir = mkdtempSync(join(tmpdir(), 'slack-app-'));
  logs = [];
  failures = [];
  clock = 0;
  slept = [];
});
afterEach(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
  // Whatever happened, the token never reached a log line.
  expect(logs.join('')).not.toContain(STAND_IN_TOKEN);
});

const logger = () => createLogger('test', 'debug', { write: (s: string) => void logs.push(s) });

/** A watcher's Slack delivery as main.ts wires it; a second call is the watcher after a restart. */
function watcher(token = STAND_IN_TOKEN) {
  return createSlackAppClient({
    token,
    channel: STAND_IN_CHANNEL,
    apiUrl: api.url,
    connectTimeoutMs: 1000,
    timeoutMs: 2000,
    retryForMs: 60_000,
    backoffBaseMs: 10,
    threads: createThreadStore({ dir, logger: logger(), now: () => AT }),
    logger: logger(),
    now: () => AT,
    monotonic: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    onAttempt: (_ms, failure) => failures.push(failure),
  });
}

function incident(message: IncidentNotification['message'], minutes = 0): IncidentNotification {
  const at = AT + minutes * 60_000;
  return { kind: 'failover', message, incidentId: 'inc-1', openedAt: AT, at, condition: failoverView(AT, at, { active: message !== 'resolved' }), deferred: 0 };
}

function release(outcome: ReleaseNotification['entry']['outcome'], action: ReleaseNotification['entry']['action'] = 'release'): ReleaseNotification {
  return { kind: 'release', message: 'notice', at: AT, entry: historyEntry({ action, outcome, release: 'green-v2', pool: 'green' }) };
}

async function send(sink: ReturnType<typeof watcher>, n: Notification) {
  return sink.send(formatSlackMessage(n, { runbookUrl: undefined }), placementOf(n));
}

const methods = () => api.calls().map((c) => c.method);

describe('Slack Web API: one message per incident', () => {
  it('posts the incident once, edits it at each change, and tells the story in its thread', async () => {
    const sink = watcher();
    expect(await send(sink, incident('opened'))).toBe('delivered');
    expect(await send(sink, incident('updated', 2))).toBe('delivered');
    expect(await send(sink, incident('resolved', 5))).toBe('delivered');
    await sink.close();

    const [top, ...others] = api.messages();
    expect(others).toEqual([]);
    expect(top!.text).toMatch(/^Recovered/);
    expect(top!.edits).toBe(2);
    expect(top!.versions.map((v) => v.text)).toEqual([expect.stringMatching(/^Failover detected/), expect.not.stringMatching(/^Recovered/)]);
    expect(top!.replies.map((r) => [r.text.split(':')[0], r.reply_broadcast])).toEqual([
      [expect.not.stringMatching(/^Recovered/), false],
      ['Recovered', true],
    ]);
    // Its permalink is asked once, for links to it (the status page, a release's thread).
    expect(methods()).toEqual(['chat.postMessage', 'chat.getPermalink', 'chat.update', 'chat.postMessage', 'chat.update', 'chat.postMessage']);
    // Each call carries the token as a Bearer header, never in the body.
    expect(api.calls().every((c) => c.token === 'xoxb-…' && !JSON.stringify(c.args).includes(STAND_IN_TOKEN))).toBe(true);
    // Resolved: its thread is forgotten, so the file holds no incident.
    expect(JSON.parse(readFileSync(join(dir, THREADS_FILE), 'utf8'))).toEqual({ version: 1, threads: {} });
  });

  it('edits the same message after a restart: its place is saved the moment Slack gives it', async () => {
    const before = watcher();
    await send(before, incident('opened'));
    await before.close();
    const ts = api.messages()[0]!.ts;
    expect(JSON.parse(readFileSync(join(dir, THREADS_FILE), 'utf8')).threads['incident:inc-1']).toMatchObject({ channel: STAND_IN_CHANNEL, ts });

    const after = watcher();
    // The saved queue re-sends the first message: an edit, not a second message.
    await send(after, incident('opened'));
    await send(after, incident('resolved', 3));
    await after.close();
    expect(api.messages()).toHaveLength(1);
    expect(api.messages()[0]).toMatchObject({ ts, edits: 2 });
    expect(api.messages()[0]!.replies).toHaveLength(1);
  });

  it('waits out a 429 on an edit, then goes on from the edit: nothing is done twice', async () => {
    const sink = watcher();
    await send(sink, incident('opened'));
    api.fail('chat.update', { status: 429, retryAfter: 7 });
    api.fail('chat.postMessage', { status: 503 });
    expect(await send(sink, incident('updated', 2))).toBe('delivered');
    await sink.close();
    expect(api.calls().map((c) => `${c.method} ${c.status}`)).toEqual([
      'chat.postMessage 200',
      'chat.getPermalink 200',
      'chat.update 429',
      'chat.update 200',
      'chat.postMessage 503',
      'chat.postMessage 200',
    ]);
    expect(slept).toContain(7000);
    expect(failures).toEqual([undefined, 'rate_limited', 'http_5xx', undefined]);
    expect(api.messages()[0]).toMatchObject({ edits: 1 });
    expect(api.messages()[0]!.replies).toHaveLength(1);
  });

  it('posts a new message, and keeps it, when the old one was deleted in Slack', async () => {
    const sink = watcher();
    await send(sink, incident('opened'));
    const gone = api.messages()[0]!.ts;
    api.remove(STAND_IN_CHANNEL, gone);
    await send(sink, incident('updated', 2));
    await send(sink, incident('updated', 4));
    await sink.close();
    const [replacement] = api.messages();
    expect(replacement!.ts).not.toBe(gone);
    expect(replacement).toMatchObject({ edits: 1 });
    expect(replacement!.replies).toHaveLength(1);
    expect(logs.join('')).toContain('its Slack message is gone: posting a new one');
  });

  it('starts the thread from a later change when the first message never made it', async () => {
    const sink = watcher();
    await send(sink, incident('updated', 2));
    await send(sink, incident('resolved', 5));
    await sink.close();
    expect(api.messages()).toHaveLength(1);
    expect(api.messages()[0]!.text).toMatch(/^Recovered/);
    expect(api.messages()[0]!.replies.map((r) => r.reply_broadcast)).toEqual([true]);
  });

  it('an edit ahead of the cooldown only edits, and does nothing when there is no message yet', async () => {
    const sink = watcher();
    const held = (n: Notification) => sink.send(formatSlackMessage(n, { runbookUrl: undefined }), { ...placementOf(n)!, step: 'edit' });
    expect(await held(incident('updated', 1))).toBe('delivered');
    expect(api.calls()).toEqual([]);
    await send(sink, incident('opened'));
    expect(await held(incident('resolved', 2))).toBe('delivered');
    await sink.close();
    expect(methods()).toEqual(['chat.postMessage', 'chat.getPermalink', 'chat.update']);
    expect(api.messages()[0]).toMatchObject({ text: expect.stringMatching(/^Recovered/), replies: [] });
  });

  it('keeps to one new message a second: a burst queues, none is refused', async () => {
    const sink = watcher();
    for (const id of ['a', 'b', 'c']) await send(sink, { ...incident('opened'), incidentId: id });
    await sink.close();
    expect(api.messages()).toHaveLength(3);
    expect(slept).toEqual([POST_GAP_MS, POST_GAP_MS]);
  });
});

describe('Slack Web API: releases', () => {
  it('is one message per release run, its steps and rollback in the thread', async () => {
    const sink = watcher();
    await send(sink, release('started'));
    await send(sink, release('ok', 'rollback'));
    await send(sink, release('rolled_back'));
    // A rollback that is not part of a run (make rollback): a message of its own.
    await send(sink, { ...release('ok', 'rollback'), entry: historyEntry({ action: 'rollback', outcome: 'ok', release: 'blue-v1' }) });
    await sink.close();
    const [run, own] = api.messages();
    expect(api.messages()).toHaveLength(2);
    expect(run!.edits).toBe(1);
    expect(run!.replies.map((r) => r.reply_broadcast)).toEqual([false, true]);
    expect(own!.replies).toEqual([]);
  });
});

describe('Slack Web API: a release run\'s switches', () => {
  const switched = (from: string, to: string, fromRelease: string, toRelease: string): Notification => ({
    kind: 'planned_switch',
    message: 'notice',
    at: AT,
    from: from as 'blue',
    to: to as 'green',
    fromRelease,
    toRelease,
  });

  it('are replies in its thread: the promotion (to the run\'s release) and the rollback (away from it); another switch is its own message', async () => {
    const sink = watcher();
    await send(sink, release('started'));
    await send(sink, switched('blue', 'green', 'blue-v1', 'green-v2'));
    await send(sink, switched('green', 'blue', 'green-v2', 'blue-v1'));
    await send(sink, release('rolled_back'));
    await send(sink, switched('blue', 'green', 'blue-v1', 'green-v2'));
    await sink.close();
    const [run, own] = api.messages();
    expect(api.messages()).toHaveLength(2);
    expect(run!.replies.map((r) => r.text.split(':')[0])).toEqual(['Planned switch', 'Planned switch', expect.stringMatching(/^Release green-v2 rolled back/)]);
    expect(own!.text).toMatch(/^Planned switch/);
  });
});

describe('Slack Web API: an incident during a release', () => {
  it('links the incident to the release run it opened during, and the run to the incident, in every version of the message', async () => {
    const sink = watcher();
    await send(sink, release('started'));
    await send(sink, incident('opened'));
    await send(sink, incident('updated', 1));
    await send(sink, release('rolled_back'));
    await sink.close();
    const [run, inc] = api.messages();
    const runLink = permalink(STAND_IN_CHANNEL, run!.ts);
    const incLink = permalink(STAND_IN_CHANNEL, inc!.ts);
    const context = (m: { blocks?: object[] }) => JSON.stringify(m.blocks?.at(-1));
    expect(context(inc!)).toContain(`During release \`green-v2\`: <${runLink}|its message>`);
    expect(context(inc!.versions[0]!)).toContain(runLink);
    expect(run!.replies[0]!.text).toBe(`<${incLink}|Failover detected: pool changed blue → green>: opened during this release`);
    // The run is over: its record goes; the incident's stays, with both links.
    expect(JSON.parse(readFileSync(join(dir, THREADS_FILE), 'utf8')).threads).toEqual({
      'incident:inc-1': { channel: STAND_IN_CHANNEL, ts: inc!.ts, at: AT, url: incLink, during: { release: 'green-v2', url: runLink } },
    });
  });

  it('an incident with no release running has no link, and a failed permalink costs only the link', async () => {
    const sink = watcher();
    api.fail('chat.getPermalink', { error: 'internal_error' });
    expect(await send(sink, incident('opened'))).toBe('delivered');
    await sink.close();
    expect(JSON.stringify(api.messages()[0]!.blocks)).not.toContain('During release');
    expect(JSON.parse(readFileSync(join(dir, THREADS_FILE), 'utf8')).threads['incident:inc-1'].url).toBeUndefined();
  });
});

describe('Slack Web API: errors as Slack documents them', () => {
  it.each([
    ['not_in_channel', /invite it/],
    ['channel_not_found', /channel ID/],
    ['missing_scope', /chat:write/],
    ['token_revoked', /reinstall/],
  ])('%s: not retried, said once with its fix', async (error, fix) => {
    const sink = watcher();
    api.fail('chat.postMessage', { error });
    api.fail('chat.postMessage', { error });
    expect(await send(sink, incident('opened'))).toBe('failed');
    expect(await send(sink, { ...incident('opened'), incidentId: 'inc-2' })).toBe('failed');
    await sink.close();
    expect(api.calls()).toHaveLength(2);
    expect(failures).toEqual(['rejected', 'rejected']);
    const said = logs.map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string }).filter((l) => l.level === 'error');
    expect(said).toHaveLength(1);
    expect(said[0]!.reason).toMatch(new RegExp(`^chat.postMessage: ${error} \\(`));
    expect(said[0]!.reason).toMatch(fix);
  });

  it('retries what Slack says is passing (internal_error), and answers that are not JSON', async () => {
    const sink = watcher();
    api.fail('chat.postMessage', { error: 'internal_error' });
    api.fail('chat.postMessage', { status: 502 });
    expect(await send(sink, incident('opened'))).toBe('delivered');
    await sink.close();
    expect(failures).toEqual(['http_5xx', 'http_5xx', undefined]);
    expect(api.messages()).toHaveLength(1);
  });

  it('an invalid token is rejected, and the token is in no log line', async () => {
    const api2 = await startSlackApi({ tokens: ['xoxb-the-right-one'] });
    const sink = createSlackAppClient({
      token: STAND_IN_TOKEN,
      channel: STAND_IN_CHANNEL,
      apiUrl: api2.url,
      connectTimeoutMs: 1000,
      timeoutMs: 2000,
      retryForMs: 1000,
      threads: createThreadStore({ dir, logger: logger(), now: () => AT }),
      logger: logger(),
    });
    expect(await send(sink, incident('opened'))).toBe('failed');
    await sink.close();
    await api2.close();
    expect(logs.join('')).toMatch(/invalid_auth.*Bot User OAuth Token/);
  });
});

describe('the thread store', () => {
  it('ignores a file it cannot read, with a warning: its incidents get new messages', () => {
    writeFileSync(join(dir, THREADS_FILE), '{"version": 1, "threads": {"incident:x": {"channel": "C1", "ts": "not a ts", "at": 1}}}');
    const store = createThreadStore({ dir, logger: logger(), now: () => AT });
    expect(store.entries()).toEqual([]);
    expect(logs.join('')).toMatch(/ignoring the saved Slack messages.*ts/);
  });

  it('forgets what is a month old and keeps at most 200, the newest', () => {
    const store = createThreadStore({ dir, logger: logger(), now: () => AT });
    for (let i = 0; i < 205; i++) store.set(`incident:${i}`, { channel: 'C1', ts: `${1000 + i}.000001`, at: AT - (205 - i) });
    store.set('incident:old', { channel: 'C1', ts: '1.000001', at: AT - 31 * 24 * 3600 * 1000 });
    const reloaded = createThreadStore({ dir, logger: logger(), now: () => AT });
    const keys = reloaded.entries().map(([k]) => k);
    expect(keys).toHaveLength(199);
    expect(keys).not.toContain('incident:old');
    expect(keys.at(-1)).toBe('incident:204');
  });
});
