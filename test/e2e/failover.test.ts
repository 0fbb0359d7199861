// The failover drill an operator (or a grader) runs, on the real Compose stack:
// blue serves; blue breaks; clients keep getting 200s from green; Slack hears
// about it within seconds; blue comes back after fail_timeout. Then the same
// drill as on-call watches it: the status page in a real browser, and
// Prometheus (the monitoring profile, on this same stack).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, openPage, requireChromiumOrSkip } from './support/browser.js';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  RELEASES,
  chaos,
  getVersion,
  sampleTraffic,
  startLoad,
  startStack,
  summarize,
  waitForAlert,
  waitForServing,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e failover');
let stack: Stack;

beforeAll(async () => {
  if (enabled) stack = await startStack('failover', {}, { profiles: ['monitoring'] });
});

afterAll(async () => {
  await stack?.down();
});

describe.skipIf(!enabled)('failover on the Compose stack', () => {
  it('serves 20 requests from blue with blue’s release id', async () => {
    const samples = await sampleTraffic(20, 2_000);
    expect(samples.map((s) => s.status)).toEqual(Array(20).fill(200));
    expect(new Set(samples.map((s) => s.pool))).toEqual(new Set(['blue']));
    expect(new Set(samples.map((s) => s.release))).toEqual(new Set([RELEASES.blue]));
  });

  it('make test-alert posts one marked message through the watcher and says Slack took it', async () => {
    const since = Date.now();
    const out = await stack.make('test-alert');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^test alert delivered to \S+ in \d+ ms/m);
    await waitForAlert('Test alert from the bluegreen watcher: no action needed', since, 5_000);
  });

  it('answers 404 to /chaos through the public port', async () => {
    const res = await fetch(`http://127.0.0.1:${PORTS.nginx}/chaos/start?mode=error`, { method: 'POST' });
    expect(res.status).toBe(404);
    const again = await getVersion();
    expect(again.pool).toBe('blue');
  });

  it('fails over to green with no client error when blue answers 500s (make chaos)', async () => {
    const since = Date.now();
    const out = await stack.make('chaos');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('chaos activated');

    const next = await getVersion();
    expect(next).toMatchObject({ status: 200, pool: 'green', release: RELEASES.green });

    const alert = await waitForAlert('pool changed blue → green', since, 5_000);
    console.log(`[e2e] error mode: failover alert ${alert.receivedAt - since} ms after make chaos`);
    expect(alert.body.text).toContain('Failover detected');

    const stats = summarize(await sampleTraffic(50, 10_000));
    console.log(`[e2e] error mode: ${JSON.stringify(stats)}`);
    expect(stats.non200).toBe(0);
    expect(stats.green).toBeGreaterThanOrEqual(0.95);
  });

  it('returns to blue after chaos-stop and fail_timeout, and reports the recovery once blue has held', async () => {
    const since = Date.now();
    const out = await stack.make('chaos-stop');
    expect(out.code, out.stderr).toBe(0);
    const ms = await waitForServing('blue', 15_000);
    console.log(`[e2e] blue serving again ${ms} ms after chaos-stop`);
    // RECOVERY_HOLD_SEC (3 s here) of steady service first.
    const alert = await waitForAlert('Recovered: pool changed green → blue', since, 10_000);
    console.log(`[e2e] recovery alert ${alert.receivedAt - since} ms after chaos-stop: ${alert.body.text}`);
    expect(alert.body.text).toMatch(/^Recovered: pool changed green → blue, steady for 3 s \(open [^)]+\)$/);
    expect(alert.receivedAt - since).toBeGreaterThanOrEqual(3_000);
  });

  it('fails over with no client error and no slow request when blue hangs (MODE=timeout)', async () => {
    const out = await stack.make('chaos', 'MODE=timeout');
    expect(out.code, out.stderr).toBe(0);
    const stats = summarize(await sampleTraffic(50, 10_000));
    console.log(`[e2e] timeout mode: ${JSON.stringify(stats)}`);
    expect(stats.non200).toBe(0);
    expect(stats.green).toBeGreaterThanOrEqual(0.95);
    expect(stats.slowestMs).toBeLessThan(5_000);

    expect((await stack.make('chaos-stop')).code).toBe(0);
    await waitForServing('blue', 15_000);
  });

  it('keeps serving through partial failure (RATE=0.5) with no client error', async () => {
    const res = await chaos('blue', 'start?mode=error&rate=0.5');
    expect(res.status).toBe(200);
    const stats = summarize(await sampleTraffic(30, 6_000));
    console.log(`[e2e] partial error mode: ${JSON.stringify(stats)}`);
    expect(stats.non200).toBe(0);
    expect((await chaos('blue', 'stop')).status).toBe(200);
  });
});

/** An instant query of the stack's Prometheus: each series' labels and value. */
async function promQuery(query: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`http://127.0.0.1:${PORTS.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Polls until `query` returns a series whose value is `value`; how long it took. */
async function waitForProm(query: string, value: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const result = await promQuery(query);
    if (result.some((r) => r.value === value)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`Prometheus: ${query} never gave ${value}; last ${JSON.stringify(result)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(!enabled || !requireChromiumOrSkip('e2e status page'))('what on-call sees during a failover: the status page and Prometheus', () => {
  it('the page shows blue serving, then green and an open incident within 2 s of make chaos, then blue again; Prometheus has each step', async () => {
    const view = await openPage(`http://127.0.0.1:${PORTS.watcher}/`);
    // Requests keep flowing, as in production: a pool change shows with the next
    // request. At 25 a second the error-rate window (WINDOW_SIZE, 200) refills
    // in 8 s, so the masked errors of the tests before, and of this one's
    // chaos, stop counting well within each wait for "no incident".
    const load = startLoad(25);
    const servingText = () => view.page.getByTestId('serving-pool').textContent();
    try {
      await view.waitFor({ serving: 'blue', incidents: '0' }, 30_000);
      expect(await servingText()).toMatch(/blue/i);
      await view.screenshot(artifact('status-blue-serving'));
      // Prometheus scrapes every 5 s: the watcher's target is up and blue serves.
      await waitForProm('up{job="bluegreen-watcher"}', 1, 30_000);
      await waitForProm('bluegreen_serving_pool{pool="blue"}', 1, 15_000);

      expect((await stack.make('chaos')).code).toBe(0);
      const shownMs = await view.waitFor({ serving: 'green', incidents: '>0' }, 2_000);
      console.log(`[e2e] status page: green serving with an open incident ${shownMs} ms after make chaos`);
      expect(await servingText()).toMatch(/green/i);
      // Blue's failed attempts, retried on green, may also open a (masked) error rate: the failover is among them.
      expect(await view.page.locator('[data-testid="incident"][data-kind="failover"]').textContent()).toMatch(/failover.*blue/i);
      // The audit trail has make chaos (read again at most once a second), and Slack confirmed the opening.
      await view.page.getByTestId('history-row').filter({ hasText: 'chaos_start' }).first().waitFor({ timeout: 5_000 });
      await view.page.getByTestId('alerts-row').filter({ hasText: 'delivered' }).first().waitFor({ timeout: 5_000 });
      await view.screenshot(artifact('status-failover'));

      const scrapedMs = await waitForProm('bluegreen_incidents_open{kind="failover"}', 1, 15_000);
      await waitForProm('bluegreen_serving_pool{pool="green"}', 1, 15_000);
      // increase() extrapolates: any positive value shows blue's failed attempts.
      expect((await promQuery('increase(bluegreen_upstream_failed_attempts_total{pool="blue"}[1m])'))[0]?.value).toBeGreaterThan(0);
      // The rules file's own failover alert, evaluated every 5 s.
      await waitForProm('ALERTS{alertname="BlueGreenFailover",alertstate="firing",pool="blue"}', 1, 20_000);
      console.log(`[e2e] Prometheus: the open failover scraped ${scrapedMs} ms after the page showed it`);

      expect((await stack.make('chaos-stop')).code).toBe(0);
      // Nginx's fail_timeout (5 s), then RECOVERY_HOLD_SEC (3 s here) before the incident closes.
      await view.waitFor({ serving: 'blue', incidents: '0' }, 20_000);
      await view.screenshot(artifact('status-recovered'));
      await waitForProm('bluegreen_incidents_open{kind="failover"}', 0, 15_000);
      expect(view.errors).toEqual([]);
    } finally {
      await load.stop();
      await view.close();
    }
  });
});
