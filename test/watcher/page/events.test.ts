// GET /events over a real server: first events, pushes and their coalescing,
// the stream limit, a client that never reads, heartbeats, a long-lived
// stream, and close().
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startHttpServer, type HttpServer } from '../../../watcher/operator/server.js';
import { createStatusPage, type PageSeries, type PageStatus, type StatusPage } from '../../../watcher/page/index.js';
import { rawHttp } from '../../support/rawHttp.js';
import { openStream, type SseStream } from './sseClient.js';

const STATIC_DIR = new URL('../../../watcher/page/static/', import.meta.url);

let version = 0;
let seriesPad = '';
const status = (): PageStatus => ({
  at: 1_700_000_000_000 + version,
  servingPool: version % 2 === 0 ? 'blue' : 'green',
  primaryPool: 'blue',
  maintenance: false,
  delivery: 'dry-run',
  pools: [],
  incidents: [],
  recentAlerts: [],
  history: [],
});
const series = (): PageSeries => ({ stepSec: 10, end: version, pools: seriesPad ? { [seriesPad]: { rps: [], failedShare: [], p50Ms: [], p99Ms: [] } } : {} });

const logs: string[] = [];
let server: HttpServer | undefined;
let page: StatusPage | undefined;
const streams: SseStream[] = [];
const sockets: Socket[] = [];

async function start(opts: { maxStreams?: number; maxBufferedBytes?: number; heartbeatMs?: number } = {}) {
  page = createStatusPage({
    status,
    series,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    staticDir: STATIC_DIR,
    ...opts,
  });
  server = await startHttpServer({ port: 0, routes: page.routes, logger: createLogger('test', 'silent') });
  return { page, port: server.port };
}

async function open(port: number): Promise<SseStream> {
  const stream = await openStream(port);
  streams.push(stream);
  return stream;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function within<T>(promise: Promise<T>, what: string, timeoutMs = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  page?.close();
  await server?.close();
  page = undefined;
  server = undefined;
  version = 0;
  seriesPad = '';
  logs.length = 0;
});

describe('status page event stream', () => {
  it('starts with a retry field, then status and series, as an event stream with the security headers', async () => {
    const { port } = await start();
    const stream = await open(port);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    expect(await stream.next()).toEqual({ event: 'retry', data: '1000' });
    expect(await stream.next()).toEqual({ event: 'status', data: JSON.stringify(status()) });
    expect(await stream.next()).toEqual({ event: 'series', data: JSON.stringify(series()) });
  });

  it('pushes a change at once, coalesces a burst into a leading and a trailing push, and sends the last state', async () => {
    const { page, port } = await start();
    const stream = await open(port);
    await stream.next('series');

    version = 1;
    const at = Date.now();
    page.changed();
    const flip = JSON.parse((await stream.next('status')).data) as PageStatus;
    expect(flip.servingPool).toBe('green');
    expect(Date.now() - at).toBeLessThan(1000);

    // Past the first window: a burst of changes.
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 2; i <= 50; i++) {
      version = i;
      page.changed();
    }
    const leading = JSON.parse((await stream.next('status')).data) as PageStatus;
    const trailing = JSON.parse((await stream.next('status')).data) as PageStatus;
    expect(leading.at - 1_700_000_000_000).toBe(2);
    expect(trailing.at - 1_700_000_000_000).toBe(50);
    await new Promise((r) => setTimeout(r, 250));
    expect(stream.pending().filter((e) => e.event === 'status')).toEqual([]);
  });

  it('answers HEAD with the stream headers only, and holds no stream for it', async () => {
    const { page, port } = await start();
    const reply = await rawHttp(port, 'HEAD /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reply.body).toBe('');
    expect(page.streams()).toBe(0);
  });

  it('pushes series on seriesChanged', async () => {
    const { page, port } = await start();
    const stream = await open(port);
    await stream.next('series');
    version = 7;
    page.seriesChanged();
    expect(JSON.parse((await stream.next('series')).data)).toMatchObject({ end: 7 });
  });

  it('answers 503 with retry-after past the stream limit, and the open streams keep working', async () => {
    const { page, port } = await start({ maxStreams: 2 });
    const [a, b] = [await open(port), await open(port)];
    const refused = await open(port);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.headers['content-type']).toBe('application/json');
    await within(refused.ended, 'the refusal ended');
    expect(JSON.parse(refused.body())).toEqual({ error: 'too many event streams' });
    expect(page.streams()).toBe(2);
    for (const stream of [a!, b!]) await stream.next('series');

    version = 3;
    page.changed();
    for (const stream of [a!, b!]) expect(JSON.parse((await stream.next('status')).data)).toMatchObject({ servingPool: 'green' });

    a!.close();
    await until('a closed stream is forgotten', () => page.streams() === 1);
    expect((await open(port)).status).toBe(200);
  });

  it('cuts off a client that never reads, and keeps serving the others', async () => {
    const { page, port } = await start({ maxBufferedBytes: 256 * 1024 });
    const reader = await open(port);
    await reader.next('series');
    // A client that sends its request and never reads a byte.
    const stalled = connect(port, '127.0.0.1');
    sockets.push(stalled);
    stalled.pause();
    stalled.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    const stalledClosed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    await until('both streams open', () => page.streams() === 2);

    // The kernel's socket buffers fill first (a few MB), then the response's own.
    seriesPad = 'x'.repeat(32 * 1024);
    let pushes = 0;
    while (page.streams() === 2 && pushes < 2000) {
      page.seriesChanged();
      pushes++;
      await new Promise((r) => setImmediate(r));
    }
    expect(page.streams()).toBe(1);
    // A paused socket sees the end only once it reads up to it.
    stalled.resume();
    await within(stalledClosed, 'the stalled connection closed');
    expect(logs.some((line) => line.includes('not reading its events'))).toBe(true);

    // The reader kept up, and still gets the next push.
    await until('the reader read every push', () => reader.pending().filter((e) => e.event === 'series').length === pushes);
    seriesPad = '';
    version = 5;
    page.changed();
    expect(JSON.parse((await reader.next('status', 5000)).data)).toMatchObject({ servingPool: 'green' });
  });

  it('sends heartbeat comments', async () => {
    const { port } = await start({ heartbeatMs: 50 });
    const stream = await open(port);
    expect((await stream.next('comment')).data).toBe(': heartbeat');
  });

  it('close() ends every stream, answers 503 after, and leaves no timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const { page, port } = await start({ heartbeatMs: 50 });
    expect(timers()).toBe(before + 1);
    const [a, b] = [await open(port), await open(port)];
    page.changed();
    await a!.next('status');
    page.close();
    await within(Promise.all([a!.ended, b!.ended]), 'every stream ended');
    expect(page.streams()).toBe(0);
    const late = await open(port);
    expect(late.status).toBe(503);
    // The heartbeat and the coalescing window are gone.
    expect(timers()).toBe(before);
  });
});
