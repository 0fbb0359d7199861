// Issue part 2, several Nginx instances: the `alertmanager` Compose profile
// (a second Nginx + watcher pair, and the real Alertmanager whose Slack
// receiver is the test's webhook receiver). Both watchers see every failover,
// since both Nginx proxy to the same pools and the test sends traffic through
// both; on-call must get one message per change, not one per watcher.
// Chaos goes straight to blue's port (make chaos does the same plus an audit
// entry through `docker compose exec`, seconds each on a loaded host); the
// maintenance is the Makefile's, since its silence is what is tested.
// One stack, six scenarios: a silence (make maintenance-on) holds both
// watchers' alerts, and a failover Slack heard of that resolves under it is
// told resolved once maintenance ends; one failover gives one opening and one
// all-clear even when one watcher resolves well before the other;
// Alertmanager down over a whole failover, with one watcher paused
// past the other's report, loses nothing and reopens nothing; a watcher
// killed between its firing and its resolution leaves no open alert; and
// the second Nginx follows `make switch` within a second, with no restart.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { chaos, PORTS, receivedAlerts, sleep, startStack, type SlackPost, type Stack } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e alertmanager');
const docker = (...args: string[]) => promisify(execFile)('docker', args);

const NGINX_B_PORT = PORTS.nginx + 3;
const WATCHER_B_PORT = PORTS.watcher + 1;
const ALERTMANAGER_PORT = PORTS.nginx + 40;
const RESEND_SEC = 3;
const GROUP_INTERVAL_SEC = 2;
// Each resolution needs RECOVERY_HOLD_SEC (3 s, startStack's) of steady service, then a group_interval tick.
const SETTLE_MS = (RESEND_SEC + GROUP_INTERVAL_SEC + 1) * 1000;
// Past an alert's life (endsAt: 4 resends) and many group intervals: a resolution
// one watcher reports this long before the other, and Alertmanager down this
// long, are far past what the group could hide by timing.
const ALERT_LIFE_MS = 4 * RESEND_SEC * 1000;
const LAG_MS = ALERT_LIFE_MS + 8_000;
const DOWN_MS = ALERT_LIFE_MS + 18_000;

/** Messages that came through Alertmanager (Slack attachments), not the first watcher's own (Block Kit). */
async function alertmanagerMessages(since: number): Promise<{ at: number; title: string; text: string }[]> {
  return (await receivedAlerts())
    .filter((m: SlackPost) => m.receivedAt >= since && Array.isArray((m.body as { attachments?: unknown }).attachments))
    .map((m) => {
      const first = (m.body as unknown as { attachments: { title?: string; text?: string }[] }).attachments[0];
      return { at: m.receivedAt, title: String(first?.title ?? ''), text: String(first?.text ?? '') };
    });
}

const t0 = Date.now();
const mark = (what: string) => console.log(`[e2e] alertmanager +${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

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
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await sleep(250);
  }
}

const waitForMessage = (since: number, phrase: string, timeoutMs: number) =>
  waitFor(`an Alertmanager message "${phrase}"`, timeoutMs, async () => (await alertmanagerMessages(since)).find((m) => m.title.includes(phrase)));

/** What a watcher has decided, from its /stats (the second watcher posts to Alertmanager only, so this is where it shows). */
async function watcherSaid(port: number, phrase: string, since: number): Promise<boolean> {
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { recentAlerts: { text: string; raisedAt: string }[] };
  return stats.recentAlerts.some((a) => a.text.includes(phrase) && Date.parse(a.raisedAt) >= since - 1000);
}

/** The stack's alerts Alertmanager holds (firing, silenced or inhibited). */
async function alertmanagerAlerts(): Promise<{ labels: Record<string, string>; status: { state: string; silencedBy: string[] }; endsAt: string }[]> {
  const res = await fetch(`http://127.0.0.1:${ALERTMANAGER_PORT}/api/v2/alerts?filter=${encodeURIComponent('stack="e2e-stack"')}`);
  return (await res.json()) as never;
}

describe.skipIf(!enabled)('alerts through Alertmanager from two Nginx + watcher pairs (profile alertmanager)', () => {
  let stack: Stack;
  let traffic: Promise<void> | undefined;
  let stopTraffic = false;
  // Nginx ports the client leaves alone for a while: that Nginx's watcher sees nothing heal.
  const quiet = new Set<number>();
  const startedAt = Date.now();
  const make = async (...args: string[]) => {
    const run = await stack.make(...args);
    mark(`make ${args.join(' ')}`);
    return run;
  };

  beforeAll(async () => {
    stack = await startStack(
      'alertmanager',
      {
        ALERTMANAGER_URL: 'http://alertmanager:9093',
        ALERTMANAGER_SLACK_WEBHOOK_URL: 'http://slack_receiver:9000/services/T0AM/B0AM/alertmanager-secret',
        ALERTMANAGER_GROUP_WAIT: '1s',
        ALERTMANAGER_GROUP_INTERVAL: `${GROUP_INTERVAL_SEC}s`,
        ALERTMANAGER_REPEAT_INTERVAL: '1h',
        ALERTMANAGER_RESEND_SEC: String(RESEND_SEC),
        ALERTMANAGER_STACK: 'e2e-stack',
        ALERTMANAGER_PORT: String(ALERTMANAGER_PORT),
        NGINX_B_PORT: String(NGINX_B_PORT),
        WATCHER_B_HOST_PORT: String(WATCHER_B_PORT),
        // The second watcher posts to Alertmanager only; the first one's webhook is the receiver (receiver.compose.yml).
        SLACK_WEBHOOK_URL: '',
        // Failovers only: a few masked errors must not open an error-rate incident with its own messages.
        ERROR_RATE_THRESHOLD: '50',
      },
      { profiles: ['alertmanager'] },
    );
    // A client through each Nginx, as a load balancer would spread them.
    traffic = (async () => {
      while (!stopTraffic) {
        await Promise.all(
          [PORTS.nginx, NGINX_B_PORT].filter((port) => !quiet.has(port)).map((port) =>
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
    console.log(`[e2e] alertmanager suite: ${((Date.now() - startedAt) / 1000).toFixed(1)} s wall`);
  });

  it('make maintenance-on silences the stack in Alertmanager: a failover both watchers see sends nothing', async () => {
    const since = Date.now();
    const on = await make('maintenance-on');
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(/silence \S+ in Alertmanager http:\/\/alertmanager:9093/);

    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    // The second watcher is not in maintenance: it posts, and the silence holds its alert.
    await waitFor('the second watcher opening the failover', 20_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Failover detected', since)) ? true : undefined));
    const held = await waitFor('a silenced failover alert in Alertmanager', 20_000, async () =>
      (await alertmanagerAlerts()).find((a) => a.labels.alertname === 'BlueGreenFailover' && a.status.silencedBy.length > 0),
    );
    expect(held.status.state).toBe('suppressed');

    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitFor('the second watcher resolving the failover', 30_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Recovered', since)) ? true : undefined));
    // Resolved in Alertmanager too (both watchers), under the silence: nothing is left to send when it ends.
    await waitFor('every alert of the stack resolved in Alertmanager', 10_000, async () =>
      (await alertmanagerAlerts()).some((a) => Date.parse(a.endsAt) > Date.now()) ? undefined : true,
    );
    const off = await make('maintenance-off');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/silence \S+ in Alertmanager http:\/\/alertmanager:9093 expired/);
    await sleep(GROUP_INTERVAL_SEC * 1000 + 1000);
    expect(await alertmanagerMessages(since)).toEqual([]);
  });

  it('a failover Slack heard of that resolves under the silence is told resolved once make maintenance-off has run', async () => {
    const since = Date.now();
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    await waitForMessage(since, 'Failover detected: pool changed blue → green', 20_000);
    expect((await make('maintenance-on')).code).toBe(0);
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitFor('the second watcher resolving the failover', 30_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Recovered', since)) ? true : undefined));
    // Both resolutions were taken and flushed muted: Slack still says "failing".
    await sleep(GROUP_INTERVAL_SEC * 1000 + 1000);
    expect((await alertmanagerMessages(since)).map((m) => m.title)).toEqual(['Failover detected: pool changed blue → green']);
    const off = Date.now();
    expect((await make('maintenance-off')).code).toBe(0);
    const told = await waitForMessage(off, 'Recovered: pool changed green → blue', 20_000);
    console.log(`[e2e] alertmanager: all-clear ${told.at - off} ms after make maintenance-off`);
    await sleep(SETTLE_MS);
    expect((await alertmanagerMessages(since)).map((m) => m.title).at(-1)).toMatch(/^Recovered: pool changed green → blue/);
  });

  it(`one failover seen by both watchers, one resolving ${LAG_MS / 1000} s before the other: one opening, one all-clear once both resolved`, async () => {
    const since = Date.now();
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    const opened = await waitForMessage(since, 'Failover detected: pool changed blue → green', 20_000);
    console.log(`[e2e] alertmanager: failover message ${opened.at - since} ms after chaos started`);
    await waitFor('the second watcher opening the failover', 10_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Failover detected', since)) ? true : undefined));

    // No request through the second Nginx for LAG_MS: its watcher sees blue failing until then.
    quiet.add(NGINX_B_PORT);
    const stopped = Date.now();
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitFor('the first watcher resolving', 20_000, async () => ((await watcherSaid(PORTS.watcher, 'Recovered', since)) ? true : undefined));
    await sleep(Math.max(0, stopped + LAG_MS - Date.now()));
    const early = (await alertmanagerMessages(since)).map((m) => m.title);
    quiet.delete(NGINX_B_PORT);
    const resumed = Date.now();
    const recovered = await waitForMessage(since, 'Recovered: pool changed green → blue', 30_000);
    console.log(`[e2e] alertmanager: all-clear ${recovered.at - resumed} ms after the second watcher's traffic came back (${((resumed - stopped) / 1000).toFixed(0)} s after the first healed)`);
    await waitFor('the second watcher resolving', 10_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Recovered', since)) ? true : undefined));
    await sleep(SETTLE_MS);
    // Meanwhile the group said it was still open for a watcher, never "Recovered".
    expect(early[0]).toBe('Failover detected: pool changed blue → green');
    expect(early.slice(1).every((t) => t.startsWith('Still open for some watchers: Failover detected'))).toBe(true);
    const titles = (await alertmanagerMessages(since)).map((m) => m.title);
    expect(titles[0]).toBe('Failover detected: pool changed blue → green');
    expect(titles.at(-1)).toMatch(/^Recovered: pool changed green → blue/);
    expect(titles.slice(1, -1).every((t) => t.startsWith('Still open for some watchers: Failover detected'))).toBe(true);
    expect(titles.length).toBeLessThanOrEqual(3);
    await waitFor('no active alert once every pool is healthy', 10_000, async () => ((await alertmanagerAlerts()).length === 0 ? true : undefined));
  });

  it(`Alertmanager down for ${DOWN_MS / 1000} s, then the second watcher paused past the first one's report: a failover that opened and resolved meanwhile is told after the fact, nothing reopens`, async () => {
    const since = Date.now();
    // The docker CLI on the container itself: compose takes seconds more to read the project on a busy host.
    const container = `${stack.projectName}-alertmanager-1`;
    await docker('stop', '-t', '2', container);
    const down = Date.now();
    mark('alertmanager stopped');
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    await waitFor('the second watcher opening the failover', 20_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Failover detected', since)) ? true : undefined));
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitFor('the second watcher resolving', 30_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Recovered', since)) ? true : undefined));
    expect(await alertmanagerMessages(since)).toEqual([]);

    await sleep(Math.max(0, down + DOWN_MS - Date.now()));
    // The second watcher frozen: its report comes only after the first one's is told and resolved.
    const watcherB = `${stack.projectName}-alert_watcher_b-1`;
    await docker('pause', watcherB);
    mark('starting alertmanager');
    await docker('start', container);
    const back = Date.now();
    console.log(`[e2e] alertmanager: down ${((back - down) / 1000).toFixed(1)} s`);
    await waitForMessage(since, 'After the fact: Failover of blue', 30_000);
    await waitFor("the first watcher's past incident resolved in Alertmanager", 30_000, async () => ((await alertmanagerAlerts()).length === 0 ? true : undefined));
    console.log(`[e2e] alertmanager: told ${Date.now() - back} ms after Alertmanager came back`);
    await docker('unpause', watcherB);
    const unpaused = Date.now();
    mark('second watcher unpaused');
    // Its own report of the same past incident (the firing message names the watchers that saw it), then resolved.
    await waitFor("the second watcher's report told and resolved", 30_000, async () => {
      const told = (await alertmanagerMessages(unpaused)).some((m) => m.title.startsWith('After the fact') && m.text.includes('seen by alert_watcher_b'));
      return told && (await alertmanagerAlerts()).length === 0 ? true : undefined;
    });
    await sleep(SETTLE_MS);
    expect(await alertmanagerAlerts()).toEqual([]);
    // Never as a live page: no "Failover detected" after the fact, only the incident told as past, in each status.
    const titles = (await alertmanagerMessages(since)).map((m) => m.title);
    expect(titles.length).toBeGreaterThanOrEqual(1);
    for (const title of titles) expect(title).toMatch(/^After the fact: Failover of blue from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d UTC/);
  });

  it('a watcher killed between its firing and its resolution: its alert expires under a title that is not the firing one, and nothing stays open', async () => {
    const since = Date.now();
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    await waitForMessage(since, 'Failover detected: pool changed blue → green', 20_000);
    await waitFor('the second watcher opening the failover', 10_000, async () => ((await watcherSaid(WATCHER_B_PORT, 'Failover detected', since)) ? true : undefined));
    await docker('kill', `${stack.projectName}-alert_watcher_b-1`);
    mark('second watcher killed');
    const killed = Date.now();
    expect((await chaos('blue', 'stop')).status).toBe(200);
    // Its last alert lasts four resends from its last post, then Alertmanager resolves it.
    const ended = await waitFor('the group resolved', 30_000, async () => (await alertmanagerMessages(killed)).find((m) => !m.title.startsWith('Still open')));
    console.log(`[e2e] alertmanager: group resolved ${ended.at - killed} ms after the kill: "${ended.title}"`);
    await sleep(SETTLE_MS);
    const titles = (await alertmanagerMessages(since)).map((m) => m.title);
    expect(titles[0]).toBe('Failover detected: pool changed blue → green');
    expect(titles.slice(1, -1).every((t) => t.startsWith('Still open for some watchers: Failover detected'))).toBe(true);
    // Closed by the first watcher's all-clear or by the expiry: never the firing headline.
    expect(titles.at(-1)).toMatch(/^(Recovered: pool changed green → blue|Failover \(blue\) no longer reported)/);
    expect(await alertmanagerAlerts()).toEqual([]);
  });

  it('make switch POOL=green: the second Nginx serves green within a second of the first, neither restarted', async () => {
    const started = async (port: number) =>
      (await docker('inspect', '-f', '{{.State.StartedAt}}', `${stack.projectName}-${port === NGINX_B_PORT ? 'nginx_b' : 'nginx'}-1`)).stdout.trim();
    const before = await Promise.all([PORTS.nginx, NGINX_B_PORT].map(started));
    // Both Nginx watched side by side while the switch runs: when each first names green.
    let switching = true;
    const firstGreen = (port: number) =>
      (async () => {
        while (switching) {
          const res = await fetch(`http://127.0.0.1:${port}/nginx-health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          if (res?.headers.get('x-serving-pool') === 'green') return Date.now();
          await sleep(20);
        }
        return undefined;
      })();
    const seen = [firstGreen(PORTS.nginx), firstGreen(NGINX_B_PORT)];
    const run = await make('switch', 'POOL=green');
    expect(run.code, run.output).toBe(0);
    await sleep(2_000);
    switching = false;
    const [a, b] = await Promise.all(seen);
    expect(a, 'the first Nginx serves green').toBeDefined();
    expect(b, 'the second Nginx serves green').toBeDefined();
    console.log(`[e2e] alertmanager: the second Nginx served green ${b! - a!} ms after the first`);
    expect(b! - a!).toBeLessThan(1_000);
    const res = await fetch(`http://127.0.0.1:${NGINX_B_PORT}/version`, { headers: { connection: 'close' } });
    expect(res.headers.get('x-app-pool')).toBe('green');
    expect(await Promise.all([PORTS.nginx, NGINX_B_PORT].map(started))).toEqual(before);
  });
});
