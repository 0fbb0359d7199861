import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { Health } from '../../../watcher/heartbeat/health.js';
import { failUrl, HEARTBEAT_OFF, startHeartbeat, type Heartbeat, type HeartbeatOptions } from '../../../watcher/heartbeat/sender.js';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';

// The path is the dead-man's switch's secret, as with healthchecks.io's UUIDs.
const SECRET = '5f3c1e2a-9b7d-4c1e-8a2f-0d6b3e9c7a41';
const PATH = `/ping/${SECRET}`;
const INTERVAL = 150;
const WAIT = { timeout: 5_000, interval: 10 };
const HEALTHY: Health = { healthy: true };
const UNHEALTHY: Health = { healthy: false, reason: 'cannot read the access log /var/log/nginx/access.log for 1 min: no such file' };

let receiver: Receiver;
let heartbeat: Heartbeat | undefined;
let logs: string[];

beforeEach(async () => {
  receiver = await startReceiver();
  logs = [];
});

afterEach(async () => {
  await heartbeat?.stop();
  heartbeat = undefined;
  await receiver.close();
  // Whatever happened, the secret never reached a log line.
  expect(logs.join('')).not.toContain(SECRET);
});

function start(overrides: Partial<HeartbeatOptions> = {}): Heartbeat {
  // This test's lines only, even if a ping of an earlier test ends late.
  const sink = logs;
  heartbeat = startHeartbeat({
    url: receiver.url(PATH),
    intervalMs: INTERVAL,
    check: () => HEALTHY,
    logger: createLogger('test', 'debug', { write: (s: string) => void sink.push(s) }),
    clock: Date.now,
    ...overrides,
  });
  return heartbeat;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lines = () => logs.map((l) => JSON.parse(l) as { level: string; msg: string; host?: string });
const warnings = () => lines().filter((l) => l.level === 'warn');
const paths = () => receiver.requests.map((r) => r.path);
const gaps = () => receiver.requests.slice(1).map((r, i) => r.at - receiver.requests[i]!.at);

describe('failUrl', () => {
  it('appends /fail to the path, before any query string', () => {
    expect(failUrl('https://hc-ping.com/abc-123')).toBe('https://hc-ping.com/abc-123/fail');
    expect(failUrl('https://hc-ping.com/abc-123/')).toBe('https://hc-ping.com/abc-123/fail');
    expect(failUrl('https://hc.example/ping/abc?rid=1')).toBe('https://hc.example/ping/abc/fail?rid=1');
    expect(failUrl('https://hc.example/ping/abc/?rid=1&x=y')).toBe('https://hc.example/ping/abc/fail?rid=1&x=y');
    expect(failUrl('https://push.example')).toBe('https://push.example/fail');
    expect(failUrl('http://127.0.0.1:8080/p')).toBe('http://127.0.0.1:8080/p/fail');
  });
});

describe('heartbeat', () => {
  it('pings at once, not one interval after the start', async () => {
    const t0 = Date.now();
    start({ intervalMs: 2_000 });
    await vi.waitFor(() => expect(receiver.requests).toHaveLength(1), WAIT);
    expect(receiver.requests[0]!.at - t0).toBeLessThan(1_400);
  });

  it('POSTs "ok" to the configured path while healthy, then once per interval', async () => {
    const t0 = Date.now();
    const beat = start();
    await sleep(4 * INTERVAL + 50);
    const elapsed = Date.now() - t0;
    const count = receiver.requests.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(Math.floor(elapsed / (0.7 * INTERVAL)) + 1);
    for (const gap of gaps()) expect(gap).toBeGreaterThanOrEqual(0.7 * INTERVAL);
    for (const req of receiver.requests) {
      expect(req.path).toBe(PATH);
      expect(req.body).toBe('ok');
      expect(req.headers['content-type']).toMatch(/^text\/plain/);
    }
    const status = beat.status();
    expect(status).toMatchObject({ url: 'configured', intervalSec: INTERVAL / 1000, lastResult: 'ok' });
    expect(status).not.toHaveProperty('error', expect.anything());
    expect(Date.parse((status as { lastSentAt: string }).lastSentAt)).toBeGreaterThanOrEqual(t0);
    // Only the transition is logged, with the host and not the path.
    const healthy = lines().filter((l) => l.msg === 'heartbeat: healthy');
    expect(healthy).toHaveLength(1);
    expect(healthy[0]?.host).toBe(new URL(receiver.url()).host);
  });

  it('uses POST', async () => {
    const methods: string[] = [];
    const server = createServer((req, res) => {
      methods.push(req.method ?? '');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      start({ url: `http://127.0.0.1:${port}${PATH}` });
      await vi.waitFor(() => expect(methods.length).toBeGreaterThanOrEqual(1), WAIT);
      await heartbeat?.stop();
      expect(new Set(methods)).toEqual(new Set(['POST']));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('POSTs the reason to <path>/fail while unhealthy, and goes back to the path when healthy', async () => {
    let health: Health = HEALTHY;
    const beat = start({ check: () => health });
    await vi.waitFor(() => expect(receiver.requests.length).toBeGreaterThanOrEqual(1), WAIT);

    health = UNHEALTHY;
    await vi.waitFor(() => expect(paths()).toContain(`${PATH}/fail`), WAIT);
    const fail = receiver.requests.find((r) => r.path === `${PATH}/fail`)!;
    expect(fail.body).toBe(UNHEALTHY.healthy ? '' : UNHEALTHY.reason);
    await vi.waitFor(() => expect(beat.status()).toMatchObject({ lastResult: 'fail', reason: (UNHEALTHY as { reason: string }).reason }), WAIT);
    // Stays on /fail for as long as it is unhealthy, and warns once.
    const failsBefore = paths().filter((p) => p === `${PATH}/fail`).length;
    await vi.waitFor(() => expect(paths().filter((p) => p === `${PATH}/fail`).length).toBeGreaterThan(failsBefore), WAIT);
    expect(warnings().filter((w) => w.msg.includes('unhealthy'))).toHaveLength(1);
    expect(JSON.stringify(warnings())).toContain('/var/log/nginx/access.log');

    health = HEALTHY;
    const seen = receiver.requests.length;
    await vi.waitFor(() => expect(receiver.requests.slice(seen).some((r) => r.path === PATH)).toBe(true), WAIT);
    const back = receiver.requests.slice(seen).find((r) => r.path === PATH)!;
    expect(back.body).toBe('ok');
    await vi.waitFor(() => expect(beat.status()).toMatchObject({ lastResult: 'ok' }), WAIT);
    expect(beat.status()).not.toHaveProperty('reason', expect.anything());
    expect(lines().filter((l) => l.msg === 'heartbeat: healthy')).toHaveLength(2);
  });

  it('puts /fail before the query string', async () => {
    start({ url: receiver.url('/ping/abc?rid=1'), check: () => UNHEALTHY });
    await vi.waitFor(() => expect(receiver.requests.length).toBeGreaterThanOrEqual(1), WAIT);
    expect(receiver.requests[0]?.path).toBe('/ping/abc/fail?rid=1');
  });

  it('sends nothing after stop()', async () => {
    const beat = start({ intervalMs: 100 });
    await vi.waitFor(() => expect(receiver.requests.length).toBeGreaterThanOrEqual(2), WAIT);
    await beat.stop();
    const count = receiver.requests.length;
    await sleep(3 * 100);
    expect(receiver.requests).toHaveLength(count);
  });

  it('stop() cuts a hanging ping at once, rather than hold up the shutdown for its timeout, and sends nothing after it', async () => {
    receiver.answerByDefault('hang');
    // A long interval: the ping's own timeout would be 10 s.
    const beat = start({ intervalMs: 60_000 });
    await vi.waitFor(() => expect(receiver.requests).toHaveLength(1), WAIT);
    const stopping = Date.now();
    await beat.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    // Cut by the stop, not failed: nothing to report.
    expect(beat.status()).not.toHaveProperty('error');
    await sleep(3 * 100);
    expect(receiver.requests).toHaveLength(1);
  });

  it('reports a 500 in status() and warns once, then clears it when a ping gets through', async () => {
    receiver.answerByDefault(500);
    const beat = start({ intervalMs: 100 });
    await vi.waitFor(() => expect(receiver.requests.length).toBeGreaterThanOrEqual(3), WAIT);
    const status = beat.status();
    expect(status).toMatchObject({ url: 'configured', error: expect.stringContaining('500') });
    expect(status).not.toHaveProperty('lastSentAt', expect.anything());
    expect(status).not.toHaveProperty('lastResult', expect.anything());
    expect(JSON.stringify(status)).not.toContain(SECRET);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toMatch(/not delivered/);

    const before = Date.now();
    receiver.answerByDefault(200);
    await vi.waitFor(() => expect(beat.status()).not.toHaveProperty('error', expect.anything()), WAIT);
    const recovered = beat.status() as { lastResult?: string; lastSentAt?: string };
    expect(recovered.lastResult).toBe('ok');
    expect(Date.parse(recovered.lastSentAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(lines().some((l) => l.msg.includes('delivered again'))).toBe(true);
    expect(warnings()).toHaveLength(1);
  });

  it('gives up on a ping that gets no answer, warns once, and keeps the period', async () => {
    receiver.answerByDefault('hang');
    const beat = start();
    await vi.waitFor(() => expect(receiver.requests.length).toBeGreaterThanOrEqual(4), WAIT);
    expect(beat.status()).toMatchObject({ error: 'no answer in time' });
    expect(JSON.stringify(beat.status())).not.toContain(SECRET);
    expect(warnings()).toHaveLength(1);
    // Measured from the start of the previous ping: a ping that times out after
    // one interval does not push the next to two intervals.
    const spans = gaps();
    const mean = spans.reduce((a, b) => a + b, 0) / spans.length;
    expect(mean).toBeLessThan(1.8 * INTERVAL);
    for (const gap of spans) expect(gap).toBeGreaterThanOrEqual(0.7 * INTERVAL);

    receiver.answerByDefault(200);
    await vi.waitFor(() => expect(beat.status()).not.toHaveProperty('error', expect.anything()), WAIT);
    expect(beat.status()).toMatchObject({ lastResult: 'ok', lastSentAt: expect.any(String) });
  });

  it('keeps the path out of status() and the logs when the receiver is unreachable', async () => {
    const url = receiver.url(PATH);
    await receiver.close();
    const beat = start({ url });
    await vi.waitFor(() => expect(beat.status()).toMatchObject({ error: expect.any(String) }), WAIT);
    await sleep(2 * INTERVAL);
    expect(JSON.stringify(beat.status())).not.toContain(SECRET);
    expect(warnings()).toHaveLength(1);
    expect(JSON.stringify(warnings()[0])).toContain('127.0.0.1');
    receiver = await startReceiver(); // for afterEach
  });

  it('stamps lastSentAt with the injected clock', async () => {
    const at = 1_700_000_000_000;
    const beat = start({ clock: () => at });
    await vi.waitFor(() => expect(beat.status()).toMatchObject({ lastSentAt: new Date(at).toISOString() }), WAIT);
  });

  it('is {url: "off"} when not configured', async () => {
    expect(HEARTBEAT_OFF.status()).toEqual({ url: 'off' });
    await expect(HEARTBEAT_OFF.stop()).resolves.toBeUndefined();
  });
});
