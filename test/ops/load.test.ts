import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedLoop, openLoop, throughput } from '../../ops/stack/index.js';

// /slow answers after 200 ms, /hang never, /fail with 500; /drop-once closes
// the connection under the first request it gets, then answers; /drop always
// does. Everything else at once. Every answer names its pool.
let server: Server;
let origin: string;
let dropped = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const answer = (status: number) => {
      res.writeHead(status, { 'x-app-pool': 'blue', 'content-type': 'text/plain' });
      res.end('ok');
    };
    if (req.url === '/hang') return;
    if (req.url === '/drop' || (req.url === '/drop-once' && dropped === 0)) {
      dropped++;
      req.socket.destroy();
      return;
    }
    if (req.url === '/slow') setTimeout(() => answer(200), 200);
    else answer(req.url === '/fail' ? 500 : 200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('a keep-alive connection closed under a request', () => {
  it('is retried once on a new connection, as an HTTP/1.1 client does, and the sample says so', async () => {
    dropped = 0;
    const [sample] = await openLoop({ origin, path: '/drop-once', rate: 10, durationMs: 100 });
    expect(sample).toMatchObject({ status: 200, retried: true });
    expect(dropped).toBe(1);
  });

  it('fails when it happens again: one retry, never a loop', async () => {
    dropped = 0;
    const [sample] = await openLoop({ origin, path: '/drop', rate: 10, durationMs: 100 });
    expect(sample).toMatchObject({ status: 0, retried: true });
    expect(sample?.error).toMatch(/UND_ERR_SOCKET|ECONNRESET/);
    expect(dropped).toBe(2);
  });
});

describe('open loop', () => {
  it('sends at the set rate whatever the answers take, and records status and pool', async () => {
    const seen: number[] = [];
    const samples = await openLoop({ origin, path: '/slow', rate: 50, durationMs: 200, onSample: (s) => seen.push(s.status) });
    expect(samples).toHaveLength(10);
    expect(samples.every((s) => s.status === 200 && s.pool === 'blue')).toBe(true);
    // Ten requests 20 ms apart, though each takes 200 ms: none waited for the one before.
    const starts = samples.map((s) => s.startedAt);
    expect((starts.at(-1) ?? 0) - (starts[0] ?? 0)).toBeLessThan(200);
    expect(Math.min(...samples.map((s) => s.latencyMs))).toBeGreaterThanOrEqual(190);
    expect(seen).toHaveLength(10);
  });

  it('records a request that gets no answer in time as status 0 with the error', async () => {
    const [sample] = await openLoop({ origin, path: '/hang', rate: 10, durationMs: 50, timeoutMs: 100 });
    expect(sample).toMatchObject({ status: 0, pool: undefined, error: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(sample?.latencyMs).toBeGreaterThanOrEqual(90);
  });

  it('records a refused connection as status 0', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const [sample] = await openLoop({ origin: `http://127.0.0.1:${port}`, path: '/', rate: 10, durationMs: 50 });
    expect(sample).toMatchObject({ status: 0, error: 'ECONNREFUSED' });
  });

  it('stops sending when `until` is aborted', async () => {
    // Aborted after the fifth answer, not after a time: a busy machine may answer none within any short time.
    const stop = new AbortController();
    let answered = 0;
    const onSample = () => {
      if (++answered === 5) stop.abort();
    };
    const samples = await openLoop({ origin, path: '/version', rate: 100, durationMs: 10_000, until: stop.signal, onSample });
    expect(samples.length).toBeGreaterThanOrEqual(5);
    // At 100 a second for 10 s it would send 1,000: only those already in flight follow the abort.
    expect(samples.length).toBeLessThan(30);
  });
});

describe('throughput', () => {
  it('merges runs: requests over total seconds, percentiles over every latency', () => {
    const t = throughput([
      { latencies: [1, 2, 3], failed: 0, seconds: 1 },
      { latencies: [4, 100], failed: 1, seconds: 1.5 },
    ]);
    expect(t).toEqual({ requests: 5, failed: 1, seconds: 2.5, rps: 2, p50Ms: 3, p99Ms: 100, maxMs: 100 });
  });
});

describe('closed loop', () => {
  it('keeps every connection busy for the duration and reports throughput and latency', async () => {
    const r = throughput([await closedLoop({ origin, path: '/version', connections: 4, durationMs: 300 })]);
    expect(r.failed).toBe(0);
    expect(r.requests).toBeGreaterThan(20);
    expect(r.seconds).toBeGreaterThanOrEqual(0.3);
    expect(r.rps).toBeCloseTo(r.requests / r.seconds, 5);
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    expect(r.p99Ms).toBeLessThanOrEqual(r.maxMs);
  });

  it('counts every answer that is not a 200 as failed', async () => {
    const r = throughput([await closedLoop({ origin, path: '/fail', connections: 2, durationMs: 100 })]);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.failed).toBe(r.requests);
  });
});
