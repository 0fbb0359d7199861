// Planned switches, maintenance and error-rate alerts on the real Compose
// stack, with the watcher posting to a local receiver instead of Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { watcherStats } from './support/incidents.js';
import {
  chaos,
  envFileValue,
  switchedPool,
  getVersion,
  receivedAlerts,
  sampleTraffic,
  sleep,
  startStack,
  summarize,
  waitForWatcher,
  waitForAlert,
  waitForServing,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e switch and alerts');

describe.skipIf(!enabled)('switch, maintenance and error-rate alerts on the Compose stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Its own image tag: `make up re-creates nothing` below must not see another suite's build of the shared one.
    stack = await startStack('switch', { WINDOW_SIZE: '20', ERROR_RATE_THRESHOLD: '10', PLANNED_SWITCH_TTL_SEC: '10' }, { ownImages: true });
  });

  afterAll(async () => {
    await stack?.down();
  });

  it('refuses to switch to a pool whose /readyz fails, unless forced', async () => {
    expect((await chaos('green', 'start?mode=error')).status).toBe(200);
    const out = await stack.make('switch', 'POOL=green');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('not ready');
    expect((await getVersion()).pool).toBe('blue');
    expect(switchedPool(stack)).toBeUndefined();

    const forced = await stack.make('switch', 'POOL=green', 'FORCE=1');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('now serving from app_green');
    expect(switchedPool(stack)).toBe('green');
    // The env file is the first start's only: a switch leaves it as it was.
    expect(envFileValue(stack.envFile, 'ACTIVE_POOL')).toBe('blue');
    // Green still fails, so Nginx keeps the clients on blue: nobody sees an error.
    expect(summarize(await sampleTraffic(10, 1_000)).non200).toBe(0);

    expect((await chaos('green', 'stop')).status).toBe(200);
    expect((await stack.make('switch', 'POOL=blue')).code).toBe(0);
    expect(switchedPool(stack)).toBe('blue');
    await waitForServing('blue', 10_000);
  });

  it('rejects an unknown pool name', async () => {
    const out = await stack.make('switch', 'POOL=purple');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('POOL must be blue or green');
  });

  it('switches to green under load with no failed request and pages no failover', async () => {
    const since = Date.now();
    const traffic = sampleTraffic(60, 9_000);
    await sleep(2_000);
    const out = await stack.make('switch', 'POOL=green');
    expect(out.code, out.stderr).toBe(0);
    const stats = summarize(await traffic);
    console.log(`[e2e] switch under load: ${JSON.stringify(stats)}`);
    expect(stats.non200).toBe(0);
    expect(stats.green).toBeGreaterThan(0);
    expect((await getVersion()).pool).toBe('green');
    expect(switchedPool(stack)).toBe('green');

    const planned = await waitForAlert('Planned switch: pool changed blue → green', since, 5_000);
    console.log(`[e2e] planned-switch message ${planned.receivedAt - since} ms after the switch began`);
    await sleep(2_000);
    const failovers = (await receivedAlerts()).filter((m) => m.receivedAt >= since && m.body.text.includes('Failover'));
    expect(failovers).toEqual([]);
  });

  it('keeps the switched pool across a restart and a re-creation of nginx', async () => {
    await stack.compose('restart', 'nginx');
    await waitForServing('green', 30_000);
    // Removed and created again, as `up` would: `--force-recreate --no-deps`
    // labels the container with the hash of a service without depends_on, and
    // the next plain `up` (the test below) would re-create it again.
    await stack.compose('rm', '-sf', 'nginx');
    await stack.compose('up', '-d', '--wait', 'nginx');
    await waitForServing('green', 30_000);
  });

  it('make up after the switch re-creates nothing, fails no request, and green still serves', async () => {
    const ids = async () => (await stack.compose('ps', '--all', '-q')).trim().split('\n').sort();
    const before = await ids();
    const traffic = sampleTraffic(40, 20_000);
    // make runs with the test stack's own files (COMPOSE_FILE, support/stack.ts):
    // Compose compares the whole service definitions.
    const out = await stack.makeWith({ timeoutMs: 240_000 }, 'up');
    expect(out.code, out.output).toBe(0);
    expect(out.output.split('\n').filter((line) => /Recreate/.test(line)), out.output).toEqual([]);
    expect(await ids()).toEqual(before);
    const stats = summarize(await traffic);
    console.log(`[e2e] make up after a switch: ${JSON.stringify(stats)}`);
    expect(stats.non200).toBe(0);
    expect(stats.green).toBe(1);
  });

  it('does not page a restarted watcher for the switch it missed', async () => {
    // Past the planned-switch marker's 10 s life, with the container's
    // ACTIVE_POOL still blue: only the pool Nginx publishes tells it green.
    await sleep(10_000);
    const since = Date.now();
    // `restart` keeps the container and its environment, which says blue.
    await stack.compose('restart', 'alert_watcher');
    expect((await waitForWatcher(stack)).servingPool).toBe('green');
    expect(summarize(await sampleTraffic(10, 2_000)).green).toBe(1);
    await sleep(2_000);
    expect((await receivedAlerts()).filter((m) => m.receivedAt >= since)).toEqual([]);
  });

  it('holds back alerts in maintenance mode, switched at run time, and sums up when it ends', async () => {
    expect((await stack.make('maintenance-on')).code).toBe(0);
    const since = Date.now();
    expect((await chaos('green', 'start?mode=error')).status).toBe(200);
    const stats = summarize(await sampleTraffic(20, 3_000));
    expect(stats.non200).toBe(0);
    expect(stats.blue).toBeGreaterThan(0.9);
    await sleep(3_000);
    const posted = (await receivedAlerts()).filter((m) => m.receivedAt >= since);
    expect(posted.map((m) => m.body.text)).toEqual([]);

    const status = await stack.make('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Serving pool: blue/);
    expect(status.stdout).toMatch(/"suppress":\s*[1-9]/);
    expect(status.stdout).toMatch(/"maintenance":\s*true/);

    expect((await chaos('green', 'stop')).status).toBe(200);
    await waitForServing('green', 15_000);
    // Green steady for RECOVERY_HOLD_SEC (3 s) and a tick: the failover opened and resolved during maintenance, never announced.
    await sleep(5_000);
    expect((await stack.make('maintenance-off')).code).toBe(0);
    // One summary when it ends, counting what came and went meanwhile.
    const summary = await waitForAlert('Maintenance ended', since, 5_000);
    console.log(`[e2e] maintenance summary: ${summary.body.text} ${JSON.stringify(summary.body.blocks)}`);
    expect(summary.body.text).toBe('Maintenance ended: nothing is open');
    expect(JSON.stringify(summary.body.blocks)).toContain('1 more opened and resolved during maintenance');
    await sleep(1_000);
    expect((await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text)).toEqual(['Maintenance ended: nothing is open']);
    expect((await watcherStats()).incidents).toEqual([]);
  });

  it('reports both pools failing as an outage with a high error rate, then each resolved', async () => {
    const since = Date.now();
    // Green is the primary here (switched above): the backup fails first, so no failover comes before the outage.
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    expect((await chaos('green', 'start?mode=error')).status).toBe(200);
    const failing = summarize(await sampleTraffic(30, 3_000));
    expect(failing.non200).toBeGreaterThan(20);
    const outage = await waitForAlert('Outage: no pool could answer', since, 10_000);
    const alert = await waitForAlert('High error rate', since, 10_000);
    console.log(`[e2e] outage alert ${outage.receivedAt - since} ms, error-rate alert ${alert.receivedAt - since} ms after the chaos: ${alert.body.text}`);

    expect((await chaos('blue', 'stop')).status).toBe(200);
    expect((await chaos('green', 'stop')).status).toBe(200);
    await waitForServing('green', 15_000);
    const healthy = summarize(await sampleTraffic(30, 3_000));
    expect(healthy.non200).toBe(0);
    await waitForAlert('Outage resolved', since, 10_000);
    await waitForAlert('Error rate resolved', since, 10_000);
    await sleep(2_000);
    const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    console.log(`[e2e] both pools failing, then healed: ${JSON.stringify(texts, null, 2)}`);
    // Never worded as a failover while both failed; each condition opened and resolved once.
    for (const prefix of ['Outage:', 'High error rate:', 'Outage resolved', 'Error rate resolved']) {
      expect(texts.filter((t) => t.startsWith(prefix)), prefix).toHaveLength(1);
    }
    const whileDown = texts.slice(0, texts.findIndex((t) => t.startsWith('Outage resolved')));
    expect(whileDown.filter((t) => t.startsWith('Failover'))).toEqual([]);
  });
});
