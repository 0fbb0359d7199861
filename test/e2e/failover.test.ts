// The failover drill an operator (or a grader) runs, on the real Compose stack:
// blue serves; blue breaks; clients keep getting 200s from green; Slack hears
// about it within seconds; blue comes back after fail_timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  RELEASES,
  chaos,
  getVersion,
  sampleTraffic,
  startStack,
  summarize,
  waitForAlert,
  waitForServing,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e failover');

describe.skipIf(!enabled)('failover on the Compose stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('failover');
  });

  afterAll(async () => {
    await stack?.down();
  });

  it('serves 20 requests from blue with blue’s release id', async () => {
    const samples = await sampleTraffic(20, 2_000);
    expect(samples.map((s) => s.status)).toEqual(Array(20).fill(200));
    expect(new Set(samples.map((s) => s.pool))).toEqual(new Set(['blue']));
    expect(new Set(samples.map((s) => s.release))).toEqual(new Set([RELEASES.blue]));
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
