import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createApp, type App, type AppOptions } from '../../app/server.js';
import type { Random } from '../../app/chaos.js';

type LogLine = Record<string, unknown>;

interface Started {
  app: App;
  port: number;
  logs: LogLine[];
}

const running: App[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.shutdown()));
});

async function start(config: Partial<AppOptions['config']> = {}, random?: Random, level = 'info'): Promise<Started> {
  const logs: LogLine[] = [];
  const logger = createLogger('app', level, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = createApp({
    config: { APP_POOL: 'blue', RELEASE_ID: 'rel-1', CHAOS_HOLD_MS: 10_000, SHUTDOWN_TIMEOUT_MS: 2000, ...config },
    logger,
    ...(random && { random }),
  });
  running.push(app);
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  return { app, port: (app.server.address() as AddressInfo).port, logs };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: Record<string, unknown>;
}

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: Agent;
  signal?: AbortSignal;
}

// node:http rather than fetch: fetch's pooled keep-alive sockets would outlive
// each test, and HEAD and raw methods are simpler to drive here.
function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        signal: options.signal,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const post = (port: number, path: string) => request(port, path, { method: 'POST' });

/** A connection that sends `data` as is and collects everything until the server closes it. */
function rawConnection(port: number, data: string) {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
  socket.write(data);
  return { socket, closed };
}

const requestLines = (logs: LogLine[]) => logs.filter((l) => l.msg === 'request');

/** Resolves to 'pending' if `promise` has not settled within `ms`. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'pending'>((r) => setTimeout(r, ms, 'pending'))]);

describe('endpoints', () => {
  it('GET /version names the pool, release and host, uncacheable', async () => {
    const { port } = await start({ APP_POOL: 'green', RELEASE_ID: 'v2.0.1' });
    const r = await request(port, '/version');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toEqual({
      pool: 'green',
      release: 'v2.0.1',
      hostname: hostname(),
      uptimeSeconds: expect.any(Number),
    });
    expect(r.body.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('answers HEAD wherever GET is allowed, with headers and no body', async () => {
    const { port } = await start();
    for (const path of ['/version', '/healthz', '/readyz']) {
      const r = await request(port, path, { method: 'HEAD' });
      expect(r.status, path).toBe(200);
      expect(r.text, path).toBe('');
      expect(Number(r.headers['content-length']), path).toBeGreaterThan(0);
      expect(r.headers['x-app-pool'], path).toBe('blue');
    }
  });

  it('/healthz stays 200 while /readyz reports chaos with 503', async () => {
    const { port } = await start();
    expect((await request(port, '/healthz')).body).toEqual({ status: 'ok', pool: 'blue' });
    expect((await request(port, '/readyz')).body).toEqual({ status: 'ready', pool: 'blue' });

    await post(port, '/chaos/start?mode=error&rate=0.5');
    expect((await request(port, '/healthz')).status).toBe(200);
    const notReady = await request(port, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'not ready', reason: 'chaos active (mode error, rate 0.5)', pool: 'blue' });

    await post(port, '/chaos/stop');
    expect((await request(port, '/readyz')).status).toBe(200);
  });

  it('answers an unknown path with 404', async () => {
    const { port } = await start();
    const r = await request(port, '/nope?x=1');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'not found: /nope' });
    expect((await request(port, '/version/')).status).toBe(404);
  });

  it.each([
    ['POST', '/version', 'GET, HEAD'],
    ['DELETE', '/healthz', 'GET, HEAD'],
    ['PUT', '/readyz', 'GET, HEAD'],
    ['GET', '/chaos/start?mode=error', 'POST'],
    ['HEAD', '/chaos/stop', 'POST'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const { port } = await start();
    const r = await request(port, path, { method });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
    if (method !== 'HEAD') expect(r.body.error).toContain(`allowed: ${allow}`);
  });

  it('answers an unparsable request with a JSON 400 that still names the pool', async () => {
    const { port } = await start({ APP_POOL: 'green' });
    const reply = await rawConnection(port, 'NOT HTTP AT ALL\r\n\r\n').closed;
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toContain('\r\nX-App-Pool: green\r\n');
    expect(reply).toContain('\r\nX-Release-Id: rel-1\r\n');
    expect(reply.split('\r\n\r\n')[1]).toBe('{"error":"Bad Request"}');
  });

  it('keeps idle connections open longer than Nginx does', async () => {
    const { app } = await start();
    expect(app.server.keepAliveTimeout).toBe(65_000);
    expect(app.server.headersTimeout).toBeGreaterThan(app.server.keepAliveTimeout);
  });
});

describe('headers on every response', () => {
  const cases: [string, string, string, number, string?][] = [
    ['success', 'GET', '/version', 200],
    ['not found', 'GET', '/missing', 404],
    ['wrong method', 'PATCH', '/version', 405],
    ['bad chaos input', 'POST', '/chaos/start?mode=explode', 400],
    ['chaos error', 'GET', '/version', 500, 'error'],
    ['chaos on an unknown path', 'GET', '/missing', 500, 'error'],
    ['not ready', 'GET', '/readyz', 503, 'error'],
    ['released by timeout chaos', 'GET', '/version', 503, 'timeout'],
  ];

  it.each(cases)('%s (%s %s → %i)', async (_name, method, path, status, chaosMode) => {
    const { port } = await start({ APP_POOL: 'green', RELEASE_ID: 'rel-42', CHAOS_HOLD_MS: 50 });
    if (chaosMode) expect((await post(port, `/chaos/start?mode=${chaosMode}`)).status).toBe(200);

    const withId = await request(port, path, { method, headers: { 'X-Request-Id': 'req-abc-123' } });
    expect(withId.status).toBe(status);
    expect(withId.headers['x-app-pool']).toBe('green');
    expect(withId.headers['x-release-id']).toBe('rel-42');
    expect(withId.headers['x-request-id']).toBe('req-abc-123');
    expect(withId.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(withId.text)).not.toThrow();

    const withoutId = await request(port, path, { method });
    expect(withoutId.status).toBe(status);
    expect(withoutId.headers['x-app-pool']).toBe('green');
    expect(withoutId.headers).not.toHaveProperty('x-request-id');
  });
});

describe('chaos', () => {
  it('error mode fails /version and unknown paths with 500, never probes or the switch', async () => {
    const { port } = await start();
    const started = await post(port, '/chaos/start?mode=error');
    expect(started.status).toBe(200);
    expect(started.body).toEqual({ status: 'chaos activated', mode: 'error', rate: 1, pool: 'blue' });

    const failed = await request(port, '/version');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ error: 'chaos error: simulated failure', pool: 'blue' });
    expect((await request(port, '/anything')).status).toBe(500);
    expect((await request(port, '/healthz')).status).toBe(200);
    expect((await request(port, '/readyz')).status).toBe(503);
    expect((await request(port, '/chaos/other')).status).toBe(404);

    const stopped = await post(port, '/chaos/stop');
    expect(stopped.status).toBe(200);
    expect(stopped.body).toEqual({ status: 'chaos stopped', wasActive: true, pool: 'blue' });
    expect((await request(port, '/version')).status).toBe(200);
    expect((await post(port, '/chaos/stop')).body).toMatchObject({ wasActive: false });
  });

  it('affects only the share of requests given by rate', async () => {
    const draws = [0.1, 0.9, 0.49, 0.5, 0.0];
    let i = 0;
    const { port } = await start({}, () => draws[i++] ?? 1);
    expect((await post(port, '/chaos/start?mode=error&rate=0.5')).body).toMatchObject({ rate: 0.5 });
    // Exempt paths must not draw, or they would shift the sequence below.
    await request(port, '/healthz');
    await request(port, '/readyz');
    expect(i).toBe(0);
    const statuses = [];
    for (let n = 0; n < draws.length; n++) statuses.push((await request(port, '/version')).status);
    expect(statuses).toEqual([500, 200, 500, 200, 500]);
  });

  it('a second start replaces the mode and rate', async () => {
    const { port } = await start({ CHAOS_HOLD_MS: 50 });
    await post(port, '/chaos/start?mode=error&rate=0.1');
    const r = await post(port, '/chaos/start?mode=timeout');
    expect(r.body).toEqual({ status: 'chaos activated', mode: 'timeout', rate: 1, pool: 'blue' });
    expect((await request(port, '/readyz')).body.reason).toBe('chaos active (mode timeout, rate 1)');
    expect((await request(port, '/version')).status).toBe(503);
  });

  it.each([
    ['', /mode must be one of: error, timeout \(missing\)/],
    ['?mode=fire', /mode must be one of: error, timeout \(got "fire"\)/],
    ['?mode=error&rate=0', /0 < rate <= 1 \(got "0"\)/],
    ['?mode=error&rate=1.5', /0 < rate <= 1 \(got "1.5"\)/],
    ['?mode=timeout&rate=half', /0 < rate <= 1 \(got "half"\)/],
  ])('rejects /chaos/start%s with 400 and leaves chaos off', async (query, message) => {
    const { port } = await start();
    const r = await post(port, `/chaos/start${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
    expect((await request(port, '/readyz')).status).toBe(200);
  });

  it('timeout mode holds a request for CHAOS_HOLD_MS, then answers 503', async () => {
    const { app, port } = await start({ CHAOS_HOLD_MS: 300 });
    await post(port, '/chaos/start?mode=timeout');
    const t0 = performance.now();
    const reply = request(port, '/version');
    await expect.poll(() => app.heldRequests()).toBe(1);
    expect(await within(reply, 100)).toBe('pending');

    const r = await reply;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ error: 'chaos timeout: held for 300 ms', pool: 'blue' });
    expect(app.heldRequests()).toBe(0);
  });

  it('timeout mode drops the timer of a client that gives up', async () => {
    const { app, port, logs } = await start({ CHAOS_HOLD_MS: 10_000 });
    await post(port, '/chaos/start?mode=timeout');
    // Fake only the global timers, which hold uses; node:http keeps its own.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const controller = new AbortController();
      const reply = request(port, '/version', { signal: controller.signal, headers: { 'X-Request-Id': 'gone' } });
      await expect.poll(() => app.heldRequests()).toBe(1);
      expect(vi.getTimerCount()).toBe(1);

      controller.abort();
      await expect(reply).rejects.toThrow(/abort/i);
      await expect.poll(() => app.heldRequests()).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    await expect
      .poll(() => requestLines(logs).find((l) => l.requestId === 'gone'))
      .toMatchObject({ path: '/version', status: 499, aborted: true });
  });
});

describe('logs', () => {
  it('writes one line per request with method, path, status, duration and request id', async () => {
    const { port, logs } = await start();
    await request(port, '/version?verbose=1', { headers: { 'X-Request-Id': 'r-1' } });
    await request(port, '/nope', { method: 'POST' });
    await expect.poll(() => requestLines(logs).length).toBe(2);
    const [first, second] = requestLines(logs);
    expect(first).toMatchObject({ level: 'info', service: 'app', pool: 'blue', release: 'rel-1' });
    expect(first).toMatchObject({ requestId: 'r-1', method: 'GET', path: '/version', status: 200 });
    expect(first?.durationMs).toEqual(expect.any(Number));
    expect(second).toMatchObject({ method: 'POST', path: '/nope', status: 404 });
    expect(second).not.toHaveProperty('requestId');
    expect(second).not.toHaveProperty('aborted');
  });

  it('logs a failed request at warn, so LOG_LEVEL=warn drops the per-request lines but keeps every failure with its request id', async () => {
    const { port, logs } = await start({}, undefined, 'warn');
    await request(port, '/version', { headers: { 'X-Request-Id': 'ok-1' } });
    await post(port, '/chaos/start?mode=error');
    await request(port, '/version', { headers: { 'X-Request-Id': 'failed-1' } });
    await expect.poll(() => requestLines(logs).length).toBe(1);
    expect(requestLines(logs)[0]).toMatchObject({ level: 'warn', requestId: 'failed-1', path: '/version', status: 500 });
  });

  it('logs chaos start at warn and stop at info', async () => {
    const { port, logs } = await start();
    await post(port, '/chaos/start?mode=timeout&rate=0.2');
    await post(port, '/chaos/stop');
    expect(logs.find((l) => l.msg === 'chaos activated')).toMatchObject({ level: 'warn', mode: 'timeout', rate: 0.2 });
    expect(logs.find((l) => l.msg === 'chaos stopped')).toMatchObject({
      level: 'info',
      previous: { mode: 'timeout', rate: 0.2 },
    });
  });
});

describe('shutdown', () => {
  it('lets an in-flight request finish with Connection: close, refusing new connections', async () => {
    const { app, port, logs } = await start({ SHUTDOWN_TIMEOUT_MS: 5000 });
    // Headers half sent: the request has begun, so the connection is not idle.
    const conn = rawConnection(port, 'GET /version HTTP/1.1\r\nHost: app\r\n');
    await new Promise((r) => setTimeout(r, 100));

    const done = app.shutdown();
    expect(app.shutdown()).toBe(done);
    expect(await within(done, 100)).toBe('pending');
    await expect(request(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);

    conn.socket.write('\r\n');
    const reply = await conn.closed;
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(JSON.parse(reply.split('\r\n\r\n')[1] ?? '')).toMatchObject({ pool: 'blue', release: 'rel-1' });
    await done;
    expect(app.server.listening).toBe(false);
    expect(logs.find((l) => l.msg === 'shutdown started')).toMatchObject({ inFlight: 0 });
    expect(logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ forced: false });
  });

  it('reports not ready to a request that arrives during shutdown', async () => {
    const { app, port } = await start();
    const conn = rawConnection(port, 'GET /readyz HTTP/1.1\r\nHost: app\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const done = app.shutdown();
    conn.socket.write('\r\n');
    const reply = await conn.closed;
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    expect(reply).toContain('"reason":"shutting down"');
    await done;
  });

  it('does not hold a request that arrives during shutdown', async () => {
    const { app, port } = await start({ CHAOS_HOLD_MS: 60_000 });
    await post(port, '/chaos/start?mode=timeout');
    const conn = rawConnection(port, 'GET /version HTTP/1.1\r\nHost: app\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const done = app.shutdown();
    conn.socket.write('\r\n');
    const reply = await within(conn.closed, 1000);
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    expect(reply).toContain('shutting down');
    await done;
    expect(app.heldRequests()).toBe(0);
  });

  it('answers held chaos requests at once', async () => {
    const { app, port } = await start({ CHAOS_HOLD_MS: 60_000 });
    await post(port, '/chaos/start?mode=timeout');
    const reply = request(port, '/version');
    await expect.poll(() => app.heldRequests()).toBe(1);

    const t0 = performance.now();
    await app.shutdown();
    const r = await reply;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.status).toBe(503);
    expect(r.headers.connection).toBe('close');
    expect(r.body.error).toMatch(/shutting down/);
    expect(app.heldRequests()).toBe(0);
  });

  it('closes idle keep-alive connections instead of waiting for them', async () => {
    const { app, port, logs } = await start({ SHUTDOWN_TIMEOUT_MS: 10_000 });
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await request(port, '/healthz', { agent })).headers.connection).toBe('keep-alive');
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      expect(await within(app.shutdown(), 1000)).toBeUndefined();
      expect(logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ forced: false });
    } finally {
      agent.destroy();
    }
  });

  it('force-closes what is left after SHUTDOWN_TIMEOUT_MS', async () => {
    const { app, port, logs } = await start({ SHUTDOWN_TIMEOUT_MS: 200 });
    const stuck = rawConnection(port, 'GET /version HTTP/1.1\r\nHost: app\r\n');
    await new Promise((r) => setTimeout(r, 100));

    const t0 = performance.now();
    await app.shutdown();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(await stuck.closed).toBe('');
    expect(logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ forced: true });
  });
});

describe('route matching', () => {
  // Nginx hands the raw request target to the app, so the app must not turn
  // any spelling of it into a chaos route on its own.
  it.each([
    '/CHAOS/start?mode=error',
    '/Chaos/start?mode=error',
    '/chaos/START?mode=error',
    '/%63haos/start?mode=error',
    '/chaos%2Fstart?mode=error',
    '/chaos%2fstart?mode=error',
    '//chaos/start?mode=error',
    '/x/../chaos/start?mode=error',
    '/./chaos/start?mode=error',
    '/chaos/start/?mode=error',
    '/chaos/start;?mode=error',
    '/chaos//start?mode=error',
    'http://app/chaos/start?mode=error',
  ])('POST %s is a 404 and leaves chaos off', async (target) => {
    const { port } = await start();
    const reply = await rawConnection(port, `POST ${target} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`).closed;
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    expect((await request(port, '/readyz')).status).toBe(200);
  });
});

describe('CHAOS_TOKEN', () => {
  const TOKEN = 'a-chaos-token-0123456789';

  it.each([
    ['no header', undefined],
    ['another token', 'Bearer a-chaos-token-0123456780'],
    ['a prefix of the token', 'Bearer a-chaos-token'],
    ['the token without the scheme', TOKEN],
    ['Basic credentials', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
  ])('refuses /chaos/* with %s: 401, WWW-Authenticate, chaos stays off', async (_name, authorization) => {
    const { port } = await start({ CHAOS_TOKEN: TOKEN });
    const headers = authorization === undefined ? undefined : { Authorization: authorization };
    for (const path of ['/chaos/start?mode=error', '/chaos/stop']) {
      const r = await request(port, path, { method: 'POST', headers });
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate'], path).toBe('Bearer realm="chaos"');
      expect(r.body.error, path).toContain('Authorization: Bearer');
      expect(r.text, path).not.toContain(TOKEN);
    }
    expect((await request(port, '/readyz')).status).toBe(200);
    expect((await request(port, '/version')).status).toBe(200);
  });

  it('accepts the right bearer token, whatever the scheme’s case', async () => {
    const { port, logs } = await start({ CHAOS_TOKEN: TOKEN });
    const started = await request(port, '/chaos/start?mode=error', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(started.status).toBe(200);
    expect((await request(port, '/version')).status).toBe(500);
    const stopped = await request(port, '/chaos/stop', { method: 'POST', headers: { Authorization: `bearer ${TOKEN}` } });
    expect(stopped.body).toMatchObject({ status: 'chaos stopped', wasActive: true });
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('leaves probes and /version open', async () => {
    const { port } = await start({ CHAOS_TOKEN: TOKEN });
    for (const path of ['/version', '/healthz', '/readyz']) expect((await request(port, path)).status, path).toBe(200);
  });
});
