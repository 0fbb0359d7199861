// Serving under faults, on the real Compose stack: containers killed, paused,
// restarted and re-addressed, both pools failing, reloads and switches, all
// under load. Each case prints what it measured ([faults] lines).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directive, readTemplate } from '../watcher/core/nginxTemplate.js';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  chaos,
  containerAddress,
  containerId,
  docker,
  failures,
  rawHttp,
  receivedAlerts,
  sampleTraffic,
  sleep,
  startLoad,
  startStack,
  summarize,
  waitForAlert,
  waitForServing,
  type Sample,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e faults (serving)');

/** How often Nginx looks the pools' names up again: the template's `resolver … valid=`. */
function resolveEveryMs(): number {
  const valid = directive(readTemplate(), 'resolver').find((arg) => arg.startsWith('valid='));
  const seconds = /^valid=(\d+)s$/.exec(valid ?? '')?.[1];
  if (seconds === undefined) throw new Error(`no "valid=<n>s" on the template's resolver (got ${valid})`);
  return Number(seconds) * 1000;
}

const LOAD_PER_SECOND = 30;

function report(name: string, samples: Sample[], extra: Record<string, unknown> = {}) {
  const stats = summarize(samples);
  console.log(`[faults] ${name}: ${JSON.stringify({ ...stats, slowestMs: Math.round(stats.slowestMs), ...extra })}`);
  return stats;
}

/** One request to the public entry, read raw: status, JSON body, headers, time. */
async function publicVersion() {
  const t0 = performance.now();
  const reply = await rawHttp(PORTS.nginx, 'GET /version HTTP/1.1\r\nHost: faults\r\nConnection: close\r\n\r\n');
  return { ...reply, ms: performance.now() - t0 };
}

type Reply = Awaited<ReturnType<typeof publicVersion>>;

async function chaosOnBoth(query: string) {
  for (const pool of ['blue', 'green'] as const) expect((await chaos(pool, query)).status, pool).toBe(200);
}

/** What every answer must look like while no pool can serve. */
function expectNoPoolAnswer(reply: Reply) {
  expect(reply.status).toBe(503);
  expect(reply.headers['content-type']).toBe('application/json');
  expect(reply.headers['retry-after']).toBe('5');
  const body = JSON.parse(reply.body) as { error: string; requestId: string };
  expect(body.error).toMatch(/no app pool could answer/);
  expect(body.requestId).toMatch(/^[0-9a-f]{32}$/);
  expect(reply.headers['x-request-id']).toBe(body.requestId);
  expect(reply.ms).toBeLessThan(3_000);
}

describe.skipIf(!enabled)('serving under faults on the Compose stack', () => {
  let stack: Stack;
  const ids = { blue: '', green: '', nginx: '' };

  beforeAll(async () => {
    // A small window, so a short burst of failures is enough for an error-rate alert.
    stack = await startStack('faults', { WINDOW_SIZE: '20', ERROR_RATE_THRESHOLD: '10' });
    ids.blue = await containerId(stack, 'app_blue');
    ids.green = await containerId(stack, 'app_green');
    ids.nginx = await containerId(stack, 'nginx');
  });

  afterAll(async () => {
    await stack?.down();
  });

  /** The access log's non-200 lines, to explain a failed sample. */
  const accessLogFailures = async () =>
    docker('exec', ids.nginx, 'sh', '-c', "grep -v ' status=200 ' /var/log/bluegreen/access.log | tail -n 20");

  /**
   * Polls until a request through Nginx goes straight to blue at `address`
   * (one attempt, answered by blue): Nginx's view of the pool addresses is
   * current, not just some pool answering. Resolves with the wait in ms.
   */
  async function waitUntilBlueServesAt(address: string, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    const direct = new RegExp(`upstream_addr="${address.replaceAll('.', '\\.')}:\\d+"`);
    for (;;) {
      const reply = await publicVersion();
      const rid = reply.headers['x-request-id'];
      if (reply.status === 200 && reply.headers['x-app-pool'] === 'blue' && rid) {
        const line = await docker('exec', ids.nginx, 'grep', `rid=${rid}`, '/var/log/bluegreen/access.log').catch(() => '');
        if (direct.test(line)) return Date.now() - t0;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`Nginx not sending blue's requests to ${address} after ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  describe('both pools fail', () => {
    it('both answer 500: a JSON 503 at once, one outage alert and one error-rate alert, each resolved once', async () => {
      const since = Date.now();
      await chaosOnBoth('start?mode=error');
      const replies: Reply[] = [];
      for (let i = 0; i < 30; i++) replies.push(await publicVersion());
      console.log(`[faults] both 500: ${replies.length} answers, slowest ${Math.round(Math.max(...replies.map((r) => r.ms)))} ms`);
      replies.forEach(expectNoPoolAnswer);

      const outage = await waitForAlert('Outage: no pool could answer', since, 10_000);
      const alert = await waitForAlert('High error rate', since, 10_000);
      console.log(`[faults] both 500: outage alert ${outage.receivedAt - since} ms, error-rate alert ${alert.receivedAt - since} ms after the chaos began`);

      await chaosOnBoth('stop');
      await waitForServing('blue', 15_000);
      expect(summarize(await sampleTraffic(30, 3_000)).non200).toBe(0);
      await waitForAlert('Error rate resolved', since, 10_000);
      await waitForAlert('Outage resolved', since, 10_000);
      const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
      console.log(`[faults] both 500: messages ${JSON.stringify(texts)}`);
      for (const prefix of ['Outage:', 'High error rate:', 'Outage resolved', 'Error rate resolved']) {
        expect(texts.filter((t) => t.startsWith(prefix)), prefix).toHaveLength(1);
      }
      // Both pools failing is an outage, never worded as a failover.
      const whileDown = texts.slice(0, texts.findIndex((t) => t.startsWith('Outage resolved')));
      expect(whileDown.filter((t) => t.startsWith('Failover'))).toEqual([]);
    });

    it('both hang (timeout chaos): a JSON 503 well within 3 s', async () => {
      await chaosOnBoth('start?mode=timeout');
      // Concurrent, so requests arrive while both pools are still being tried.
      const replies = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          await sleep(i * 300);
          return publicVersion();
        }),
      );
      const times = replies.map((r) => Math.round(r.ms));
      console.log(`[faults] both hang: answer times ${JSON.stringify(times)} ms`);
      replies.forEach(expectNoPoolAnswer);

      await chaosOnBoth('stop');
      await waitForServing('blue', 15_000);
    });

    it('both containers down: a JSON 503 within 3 s; both serve again once started', async () => {
      await docker('kill', ids.blue, ids.green);
      const replies: Reply[] = [];
      for (let i = 0; i < 10; i++) {
        replies.push(await publicVersion());
        await sleep(200);
      }
      console.log(`[faults] both down: answer times ${JSON.stringify(replies.map((r) => Math.round(r.ms)))} ms`);
      replies.forEach(expectNoPoolAnswer);

      // Restarted together, the two may swap addresses: wait until Nginx has
      // caught up, so the next case starts from a settled stack.
      await docker('start', ids.blue, ids.green);
      const ms = await waitUntilBlueServesAt(await containerAddress(ids.blue), 30_000);
      console.log(`[faults] both down: blue serving at its current address ${ms} ms after docker start`);
      // Green too: while it was down its name did not resolve, and Nginx has
      // its address again only at its next lookup, which nothing can hurry.
      await sleep(resolveEveryMs() + 1_000);
    });
  });

  it('the active pool paused: the backup serves every request within the timeout budget', async () => {
    const load = startLoad(LOAD_PER_SECOND);
    await sleep(1_000);
    await docker('pause', ids.blue);
    try {
      await sleep(6_000);
    } finally {
      await docker('unpause', ids.blue);
    }
    await sleep(1_000);
    const samples = await load.stop();
    const stats = report('blue paused 6 s', samples);
    expect(failures(samples), await accessLogFailures()).toEqual([]);
    expect(stats.green).toBeGreaterThan(0.5);
    // proxy_read_timeout (1 s) + green's answer; a paused pool never costs a client more.
    expect(stats.slowestMs).toBeLessThan(2_500);
    const back = await waitForServing('blue', 15_000);
    console.log(`[faults] blue paused: serving again ${back} ms after the load ended`);
  });

  it('the active pool killed under load, then started on a new address: no error, traffic returns to it', async () => {
    const oldAddress = await containerAddress(ids.blue);
    const network = (await docker('inspect', '-f', '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}', ids.blue)).trim();
    const load = startLoad(LOAD_PER_SECOND);
    let filler = '';
    let samples: Sample[] = [];
    const measured: Record<string, unknown> = { oldAddress };
    const since = new Date().toISOString();
    try {
      await sleep(1_500);
      await docker('kill', ids.blue);
      await sleep(3_000);
      // Docker gives a restarted container the lowest free address: take blue's
      // first, so blue comes back somewhere else, as after any re-creation.
      filler = (await docker('run', '-d', '--rm', '--network', network, 'node:24-slim', 'sleep', '300')).trim();
      expect(await containerAddress(filler)).toBe(oldAddress);
      const startedAt = Date.now();
      await docker('start', ids.blue);
      measured.newAddress = await containerAddress(ids.blue);
      expect(measured.newAddress).not.toBe(oldAddress);
      await waitUntilBlueServesAt(measured.newAddress as string, 20_000);
      measured.blueServingAfterStartMs = Date.now() - startedAt;
      await sleep(1_000);
    } finally {
      samples = await load.stop();
      if (filler) await docker('rm', '-f', filler);
    }
    report('blue killed, back on a new address', samples, measured);
    expect(failures(samples), await accessLogFailures()).toEqual([]);
    // Nginx followed the new address by its own re-resolution (`resolve`), with no reload.
    const nginxLogs = await stack.compose('logs', '--no-color', '--since', since, 'nginx');
    expect(nginxLogs).toMatch(/app_blue could not be resolved/);
    expect(nginxLogs).not.toMatch(/reconfiguring/);
  });

  it('an app restart (SIGTERM) under load drops no request', async () => {
    const load = startLoad(LOAD_PER_SECOND);
    await sleep(1_500);
    const t0 = Date.now();
    await docker('restart', '-t', '10', ids.blue);
    const restartMs = Date.now() - t0;
    await waitForServing('blue', 20_000);
    await sleep(1_000);
    const samples = await load.stop();
    report('blue restarted (SIGTERM)', samples, { restartMs });
    expect(failures(samples), await accessLogFailures()).toEqual([]);
    // The restart was graceful: the old process stopped on SIGTERM without forcing.
    const logs = (await docker('logs', ids.blue)).split('\n').filter((l) => l.startsWith('{'));
    const stops = logs.map((l) => JSON.parse(l) as { msg: string; signal?: string; forced?: boolean });
    expect(stops.filter((l) => l.msg === 'signal received').at(-1)?.signal).toBe('SIGTERM');
    expect(stops.filter((l) => l.msg === 'shutdown complete').at(-1)?.forced).toBe(false);
  });

  it('nginx -s reload and make switch, repeated under load: no failed request, no worker left behind', async () => {
    const load = startLoad(LOAD_PER_SECOND);
    try {
      for (const pool of ['green', 'blue', 'green', 'blue']) {
        await docker('exec', ids.nginx, 'nginx', '-s', 'reload');
        await sleep(300);
        await docker('exec', ids.nginx, 'nginx', '-s', 'reload');
        const out = await stack.make('switch', `POOL=${pool}`);
        expect(out.code, out.stderr).toBe(0);
        await sleep(500);
      }
    } finally {
      const samples = await load.stop();
      const stats = report('4 switches + 8 reloads', samples);
      expect(failures(samples), await accessLogFailures()).toEqual([]);
      expect(stats.green).toBeGreaterThan(0);
    }
    expect((await sampleTraffic(5, 500)).map((s) => s.pool)).toEqual(Array(5).fill('blue'));
    // Old workers finish their requests and exit: the master can still signal them.
    await expect
      .poll(async () => docker('exec', ids.nginx, 'sh', '-c', 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "; true'), {
        timeout: 15_000,
        interval: 500,
      })
      .not.toContain('shutting down');
  });
});
