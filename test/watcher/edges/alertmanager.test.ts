// The Alertmanager sink (notify/alertmanager.ts) and the maintenance silence
// (operator/silences.ts) against fake Alertmanagers on 127.0.0.1: firing at
// once and re-sent while open, endsAt on resolve, retries through 503s and
// refused connections, a 4xx said once and not hammered, an incident that
// opened and resolved during an outage told after the fact and never as
// live, two watchers through a model of Alertmanager's grouping and dedup
// (test/support/alertmanagerModel.ts), a wall clock stepped back, every URL
// of a cluster, silences created and expired.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { ConditionView } from '../../../watcher/detect/index.js';
import {
  createAlertmanagerNotifier,
  ENDS_AFTER_RESENDS,
  type AlertmanagerNotifier,
  type AlertmanagerOptions,
} from '../../../watcher/notify/alertmanager.js';
import { GROUP_BY, type AlertmanagerAlert } from '../../../watcher/notify/alertmanagerAlert.js';
import { SILENCES_FILE, silenceStack, unsilenceStack } from '../../../watcher/operator/silences.js';
import { AlertmanagerModel } from '../../support/alertmanagerModel.js';
import { freePort } from '../../../testkit/freePort.js';
import { failoverView } from '../core/records.js';

const RESEND_MS = 300;

interface Post {
  at: number;
  alerts: AlertmanagerAlert[];
}

interface FakeAlertmanager {
  url: string;
  port: number;
  posts: Post[];
  /** Status for the next requests to /api/v2/alerts, in order; then 200. */
  answers: number[];
  silences: Map<string, unknown>;
  expired: string[];
  /** What Alertmanager would make of the posts taken: its groups and notifications. */
  model: AlertmanagerModel;
  close(): Promise<void>;
}

async function fakeAlertmanager(port = 0, auth?: string): Promise<FakeAlertmanager> {
  const model = new AlertmanagerModel({ groupBy: GROUP_BY, groupWaitMs: 100, groupIntervalMs: 150, repeatIntervalMs: 3_600_000 });
  const ticker = setInterval(() => model.advance(Date.now()), 10);
  const fake: FakeAlertmanager = { url: '', port: 0, posts: [], answers: [], silences: new Map(), expired: [], model, close: async () => {} };
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (auth !== undefined && req.headers.authorization !== auth) return void res.writeHead(401).end('unauthorized');
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST' && req.url === '/api/v2/alerts') {
        const status = fake.answers.shift() ?? 200;
        if (status === 200) {
          fake.posts.push({ at: Date.now(), alerts: JSON.parse(body) as AlertmanagerAlert[] });
          model.post(fake.posts.at(-1)!.alerts, Date.now());
        }
        return void res.writeHead(status).end(status === 200 ? '' : 'unavailable');
      }
      if (req.method === 'POST' && req.url === '/api/v2/silences') {
        const id = `silence-${++n}`;
        const silence = JSON.parse(body) as { matchers: { name: string; value: string }[] };
        fake.silences.set(id, silence);
        model.silence(id, Object.fromEntries(silence.matchers.map((m) => [m.name, m.value])));
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ silenceID: id }));
      }
      const del = /^\/api\/v2\/silence\/(.+)$/.exec(req.url ?? '');
      if (req.method === 'DELETE' && del) {
        fake.expired.push(del[1]!);
        model.expire(del[1]!);
        return void res.writeHead(fake.silences.delete(del[1]!) ? 200 : 404).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  fake.port = (server.address() as AddressInfo).port;
  fake.url = `http://127.0.0.1:${fake.port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      clearInterval(ticker);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

const OPENED = Date.now() - 10_000;

const failover = (fields: Partial<ConditionView> = {}): ConditionView => failoverView(OPENED, Date.now(), fields);

const resolvedView = (at: number) => failover({ active: false, level: 'ok', since: at, at, servingPool: 'blue' });

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function notifier(urls: string[], logs: string[] = [], options: Partial<AlertmanagerOptions> = {}): AlertmanagerNotifier {
  const n = createAlertmanagerNotifier({
    urls,
    stack: 'test',
    instance: 'watcher_a',
    resendMs: RESEND_MS,
    timeoutMs: 1000,
    retryForMs: 60_000,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    clock: Date.now,
    backoffBaseMs: 30,
    maxBackoffMs: 100,
    ...options,
  });
  cleanup.push(() => n.close(1000));
  return n;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const firing = (p: Post) => p.alerts.filter((a) => Date.parse(a.endsAt) > p.at);
const resolved = (p: Post) => p.alerts.filter((a) => Date.parse(a.endsAt) <= p.at);

describe('Alertmanager sink', () => {
  it('posts an open condition at once, re-sends it every resend interval with endsAt a few intervals ahead, and resolves it with its real endsAt', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    const n = notifier([am.url]);
    const start = Date.now();
    n.observe([failover()]);
    await until('the first post', () => am.posts[0]);
    expect(am.posts[0]!.at - start).toBeLessThan(200);
    const [alert] = am.posts[0]!.alerts;
    expect(alert!.labels).toMatchObject({ alertname: 'BlueGreenFailover', stack: 'test', pool: 'blue' });
    expect(alert!.startsAt).toBe(new Date(OPENED).toISOString());
    expect(Date.parse(alert!.endsAt) - am.posts[0]!.at).toBeGreaterThan((ENDS_AFTER_RESENDS - 1) * RESEND_MS);
    expect(Date.parse(alert!.endsAt) - am.posts[0]!.at).toBeLessThanOrEqual(ENDS_AFTER_RESENDS * RESEND_MS + 50);

    // Ticks and lines keep reporting it open: re-sent on the resend interval, not on each report.
    for (let i = 0; i < 10; i++) {
      n.observe([failover()]);
      await new Promise((r) => setTimeout(r, 100));
    }
    const open = am.posts.length;
    expect(open).toBeGreaterThanOrEqual(3);
    expect(open).toBeLessThanOrEqual(5);
    expect(am.posts.every((p) => firing(p).length === 1)).toBe(true);

    const resolvedAt = Date.now() - 50;
    n.observe([resolvedView(resolvedAt)]);
    const last = await until('the resolution', () => am.posts.find((p) => resolved(p).length > 0));
    expect(resolved(last)[0]!.endsAt).toBe(new Date(resolvedAt).toISOString());
    expect(resolved(last)[0]!.annotations.summary).toMatch(/^Recovered: pool changed green → blue/);
    // Taken: re-sent at each resend for as long as an open alert lasts (an Alertmanager that restarted
    // before flushing it lost it), with the same end, then no more.
    expect(n.status()).toEqual([expect.objectContaining({ url: am.url, pending: 0 })]);
    await new Promise((r) => setTimeout(r, (ENDS_AFTER_RESENDS + 1) * RESEND_MS));
    const after = am.posts.filter((p) => p.at > last.at);
    expect(after.length).toBeGreaterThanOrEqual(ENDS_AFTER_RESENDS - 2);
    expect(after.length).toBeLessThanOrEqual(ENDS_AFTER_RESENDS);
    expect(after.every((p) => resolved(p).length === 1 && resolved(p)[0]!.endsAt === new Date(resolvedAt).toISOString())).toBe(true);
    const count = am.posts.length;
    await new Promise((r) => setTimeout(r, 2 * RESEND_MS));
    expect(am.posts.length).toBe(count);
  });

  it('retries through 503s and refused connections, and delivers once Alertmanager is back', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const n = notifier([`http://127.0.0.1:${port}`], logs);
    n.observe([failover()]);
    await until('a refused attempt', () => logs.find((l) => l.includes('Alertmanager delivery failed')));
    const am = await fakeAlertmanager(port);
    cleanup.push(() => am.close());
    am.answers.push(503, 503);
    await until('delivery after the 503s', () => am.posts[0]);
    expect(am.answers).toEqual([]);
    expect(logs.some((l) => l.includes('HTTP 503'))).toBe(true);
    await until('the recovery logged', () => logs.find((l) => l.includes('Alertmanager takes alerts again')));
  });

  it('an incident that opened and resolved while Alertmanager was down is told after the fact, never posted firing under its live labels', async () => {
    const port = await freePort();
    const n = notifier([`http://127.0.0.1:${port}`]);
    n.observe([failover()]);
    await new Promise((r) => setTimeout(r, 100));
    const resolvedAt = Date.now();
    n.observe([resolvedView(resolvedAt)]);
    await new Promise((r) => setTimeout(r, 100));
    const am = await fakeAlertmanager(port);
    cleanup.push(() => am.close());
    const pastEnd = await until('the past alert resolved', () =>
      am.posts.find((p) => resolved(p).some((a) => a.labels.alertname === 'BlueGreenPastIncident')),
    );
    const live = am.posts.flatMap((p) => p.alerts.map((a) => ({ a, at: p.at }))).filter(({ a }) => a.labels.alertname === 'BlueGreenFailover');
    // The live alert only ever gets its end (Alertmanager may hold it from before).
    expect(live.length).toBeGreaterThan(0);
    expect(live.every(({ a, at }) => Date.parse(a.endsAt) <= at)).toBe(true);
    expect(live[0]!.a.endsAt).toBe(new Date(resolvedAt).toISOString());
    const pastFiring = am.posts.find((p) => firing(p).some((a) => a.labels.alertname === 'BlueGreenPastIncident'))!;
    expect(pastFiring.alerts.find((a) => a.labels.alertname === 'BlueGreenPastIncident')!.startsAt).toBe(new Date(OPENED).toISOString());
    // Firing for a resend interval (longer than group_wait), so Alertmanager tells it once, then resolved.
    expect(pastEnd.at - pastFiring.at).toBeGreaterThanOrEqual(RESEND_MS - 20);
    await until('the model to notify the past incident resolved', () => am.model.latest({ alertname: 'BlueGreenPastIncident' })?.status === 'resolved');
    expect(am.model.notifications.map((x) => `${x.status} ${x.title.split(':')[0]}`)).toEqual(['firing After the fact', 'resolved After the fact']);
  });

  it("two watchers, Alertmanager down while the incident opens and resolves, B's report arriving after A's: nothing reopens", async () => {
    const port = await freePort();
    const a = notifier([`http://127.0.0.1:${port}`]);
    a.observe([failover()]);
    await new Promise((r) => setTimeout(r, 50));
    a.observe([resolvedView(Date.now())]);
    const am = await fakeAlertmanager(port);
    cleanup.push(() => am.close());
    await until("A's past incident told and resolved", () => am.model.latest({ instance: 'watcher_a' })?.status === 'resolved');
    // B was cut off longer: it saw the same incident and reports only now, after A's all-clear.
    const b = notifier([am.url], [], { instance: 'watcher_b' });
    b.observe([failover({ since: OPENED + 500 })]);
    b.observe([resolvedView(Date.now() - 200)]);
    await until("B's report resolved", () => am.model.latest({ instance: 'watcher_b' })?.status === 'resolved');
    await new Promise((r) => setTimeout(r, 300));
    // The live failover never fired after the fact; every group ends resolved, and nothing stays active.
    expect(am.model.notifications.filter((x) => x.firing.some((l) => l.alertname === 'BlueGreenFailover'))).toEqual([]);
    for (const group of new Set(am.model.notifications.map((x) => x.group))) {
      expect(am.model.notifications.filter((x) => x.group === group).at(-1)!.status).toBe('resolved');
    }
    expect(am.model.active(Date.now())).toEqual([]);
  });

  it("two watchers, Alertmanager up: one watcher's all-clear does not resolve the incident while the other still sees it failing", async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    const a = notifier([am.url]);
    const b = notifier([am.url], [], { instance: 'watcher_b' });
    a.observe([failover()]);
    b.observe([failover({ since: OPENED + 300 })]);
    await until('the failover told', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'firing');
    a.observe([resolvedView(Date.now())]);
    // A's resolution is flushed (several group intervals) while B still reports it open.
    await new Promise((r) => setTimeout(r, 4 * 150));
    for (let i = 0; i < 3; i++) {
      b.observe([failover({ since: OPENED + 300 })]);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(am.model.notifications.every((x) => x.status === 'firing')).toBe(true);
    expect(am.model.latest({ alertname: 'BlueGreenFailover' })!.firing).toEqual([expect.objectContaining({ instance: 'watcher_b' })]);
    b.observe([resolvedView(Date.now())]);
    await until('resolved once the last watcher resolves', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'resolved');
    expect(am.model.latest({ alertname: 'BlueGreenFailover' })!.title).toMatch(/^Recovered: /);
  });

  it('a watcher that stops re-sending lets its alert expire under a title that is not the firing one', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    const a = notifier([am.url]);
    a.observe([failover()]);
    await until('the failover told', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'firing');
    // Killed between its firing and its resolution.
    await a.close(100);
    await until('the alert expired', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'resolved', ENDS_AFTER_RESENDS * RESEND_MS + 2000);
    const end = am.model.latest({ alertname: 'BlueGreenFailover' })!;
    expect(end.title).not.toMatch(/^Failover detected/);
    expect(end.title).toMatch(/no longer reported/);
  });

  it('keeps re-sending on its own clock when the wall clock is stepped back an hour, with endsAt ahead of the stepped wall clock', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    let step = 0;
    const wall = () => Date.now() - step;
    const n = notifier([am.url], [], { wall });
    n.observe([failover()]);
    await until('the first post', () => am.posts[0]);
    step = 3_600_000;
    const before = am.posts.length;
    await new Promise((r) => setTimeout(r, 3 * RESEND_MS + 100));
    const after = am.posts.slice(before);
    expect(after.length).toBeGreaterThanOrEqual(2);
    for (const p of after) expect(Date.parse(p.alerts[0]!.endsAt)).toBeGreaterThan(p.at - step);
  });

  it('says a 4xx once, shows it in the status, and does not hammer Alertmanager with it', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    am.answers.push(...Array<number>(50).fill(400));
    const logs: string[] = [];
    const n = notifier([am.url], logs);
    n.observe([failover()]);
    await until('the rejection in the status', () => n.status()[0]?.rejected);
    await new Promise((r) => setTimeout(r, 2 * RESEND_MS + 50));
    // Tried again each resend interval, not on the backoff of an outage.
    expect(50 - am.answers.length).toBeLessThanOrEqual(4);
    expect(logs.filter((l) => l.includes('Alertmanager rejected the alerts'))).toHaveLength(1);
    expect(n.status()[0]).toMatchObject({ rejected: true, lastError: 'HTTP 400: unavailable' });
  });

  it('posts to every Alertmanager of a cluster, each at its own pace: one down delays none of the others', async () => {
    const up = await fakeAlertmanager();
    const flaky = await fakeAlertmanager();
    cleanup.push(() => up.close(), () => flaky.close());
    flaky.answers.push(503, 503, 503, 503, 503);
    const n = notifier([up.url, flaky.url]);
    const start = Date.now();
    n.observe([failover()]);
    await until('the healthy one', () => up.posts[0]);
    expect(up.posts[0]!.at - start).toBeLessThan(200);
    await until('the flaky one, after its 503s', () => flaky.posts[0]);
    n.observe([resolvedView(Date.now())]);
    await until('both resolved', () => [up, flaky].every((am) => am.posts.some((p) => resolved(p).length > 0)) || undefined);
  });

  it('drops a condition the detector no longer reports by resolving it', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    const n = notifier([am.url]);
    n.observe([failover()]);
    await until('the first post', () => am.posts[0]);
    n.observe([]);
    await until('the resolution', () => am.posts.find((p) => resolved(p).length > 0));
  });

  it('sends credentials in the URL as basic auth, never in the URL itself', async () => {
    const am = await fakeAlertmanager(0, `Basic ${Buffer.from('ops:p@ss').toString('base64')}`);
    cleanup.push(() => am.close());
    const n = notifier([`http://ops:p%40ss@127.0.0.1:${am.port}`]);
    n.observe([failover()]);
    await until('an authorised post', () => am.posts[0]);
    expect(n.status()[0]!.url).toBe(am.url);
  });
});

describe('maintenance silences', () => {
  it('creates a silence matching the stack in every Alertmanager, keeps the ids, and expires exactly those', async () => {
    const a = await fakeAlertmanager();
    const b = await fakeAlertmanager();
    cleanup.push(() => a.close(), () => b.close());
    const dir = mkdtempSync(join(tmpdir(), 'bg-silence-'));
    const config = { CONTROL_DIR: dir, ALERTMANAGER_URL: [a.url, b.url], ALERTMANAGER_STACK: 'prod', ALERTMANAGER_TIMEOUT_MS: 1000 };
    const on = await silenceStack(config, 'alice');
    expect(on.ok).toBe(true);
    expect(on.lines).toEqual([
      `silence silence-1 in Alertmanager ${a.url}: alerts with stack="prod" are held`,
      `silence silence-1 in Alertmanager ${b.url}: alerts with stack="prod" are held`,
    ]);
    expect([...a.silences.values()][0]).toMatchObject({ matchers: [{ name: 'stack', value: 'prod', isEqual: true, isRegex: false }], createdBy: 'alice' });
    expect(JSON.parse(readFileSync(join(dir, SILENCES_FILE), 'utf8'))).toHaveLength(2);

    const off = await unsilenceStack(config);
    expect(off.ok).toBe(true);
    expect(a.expired).toEqual(['silence-1']);
    expect(b.expired).toEqual(['silence-1']);
    expect(existsSync(join(dir, SILENCES_FILE))).toBe(false);
    expect((await unsilenceStack(config)).lines).toEqual(['no Alertmanager silence to expire']);
  });

  it('an incident that resolved under the silence is told resolved once maintenance ends, however long it lasted', async () => {
    const am = await fakeAlertmanager();
    cleanup.push(() => am.close());
    const dir = mkdtempSync(join(tmpdir(), 'bg-silence-'));
    const config = { CONTROL_DIR: dir, ALERTMANAGER_URL: [am.url], ALERTMANAGER_STACK: 'test', ALERTMANAGER_TIMEOUT_MS: 1000 };
    // A short retry window: maintenance outlasts it, and the resolution must still be told at its end.
    const n = notifier([am.url], [], { retryForMs: 200 });
    n.observe([failover()], false);
    await until('the failover told', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'firing');
    await silenceStack(config, 'alice');
    n.observe([failover()], true);
    n.observe([resolvedView(Date.now())], true);
    // Alertmanager took the resolution and flushed it muted: Slack heard nothing.
    await new Promise((r) => setTimeout(r, 600));
    expect(am.model.latest({ alertname: 'BlueGreenFailover' })?.status).toBe('firing');
    // make maintenance-off: the silence expires first, then the watcher sees maintenance end.
    await unsilenceStack(config);
    n.observe([resolvedView(Date.now() - 600)], false);
    await until('the all-clear told', () => am.model.latest({ alertname: 'BlueGreenFailover' })?.status === 'resolved');
    expect(am.model.latest({ alertname: 'BlueGreenFailover' })!.title).toMatch(/^Recovered: /);
    expect(am.model.active(Date.now())).toEqual([]);
  });

  it('says clearly which Alertmanager it could not reach, and keeps what it could not expire for the next try', async () => {
    const a = await fakeAlertmanager();
    cleanup.push(() => a.close());
    const dead = `http://127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'bg-silence-'));
    const config = { CONTROL_DIR: dir, ALERTMANAGER_URL: [a.url, dead], ALERTMANAGER_STACK: 'prod', ALERTMANAGER_TIMEOUT_MS: 1000 };
    const on = await silenceStack(config, 'bob');
    expect(on.ok).toBe(false);
    expect(on.lines[1]).toMatch(new RegExp(`^NO silence in Alertmanager ${dead}: .*ECONNREFUSED`));

    await a.close();
    const off = await unsilenceStack(config);
    expect(off.ok).toBe(false);
    expect(off.lines[0]).toMatch(/silence silence-1 in Alertmanager .* NOT expired/);
    expect(JSON.parse(readFileSync(join(dir, SILENCES_FILE), 'utf8'))).toEqual([{ url: a.url, id: 'silence-1' }]);
  });
});
