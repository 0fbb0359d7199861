// GET /events over a real server: first events, pushes and their coalescing,
// the stream limits and what replaces what, a client that never reads,
// heartbeats, a long-lived stream, and close().
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { json, startHttpServer, type HttpServer } from '../../../watcher/operator/server.js';
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

interface StartOptions {
  maxStreams?: number;
  maxStreamsPerClient?: number;
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  replacedDrainMs?: number;
}

async function start(opts: StartOptions = {}) {
  page = createStatusPage({
    status,
    series,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    staticDir: STATIC_DIR,
    ...opts,
  });
  server = await startHttpServer({
    port: 0,
    routes: { ...page.routes, '/healthz': json(() => ({ status: 'ok' })) },
    logger: createLogger('test', 'silent'),
  });
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

/** An /events stream from another loopback address (127.0.0.0/8 is all local on Linux), read as raw bytes. */
async function openFrom(port: number, localAddress: string): Promise<{ text(): string; closed(): boolean }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  sockets.push(socket);
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(`a stream from ${localAddress}`, () => text.includes('event: series'));
  return { text: () => text, closed: () => closed };
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

  it('with every slot held by readers that keep reading, a new stream replaces the oldest, which is told to wait, and /healthz answers', async () => {
    const { page, port } = await start({ maxStreams: 3 });
    const [a, b, c] = [await open(port), await open(port), await open(port)];
    for (const stream of [a!, b!, c!]) await stream.next('series');

    const d = await open(port);
    expect(d.status).toBe(200);
    await d.next('series');
    // The replaced page reconnects in 30 s, not 1 s: at once it would only replace another.
    expect(await a!.next('retry')).toEqual({ event: 'retry', data: '30000' });
    await within(a!.ended, 'the oldest stream ended');
    expect(page.streams()).toBe(3);
    expect((await rawHttp(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000)).status).toBe(200);

    version = 3;
    page.changed();
    for (const stream of [b!, c!, d]) expect(JSON.parse((await stream.next('status')).data)).toMatchObject({ servingPool: 'green' });

    b!.close();
    await until('a closed stream is forgotten', () => page.streams() === 2);
    await open(port);
    expect(page.streams()).toBe(3);
    expect(c!.pending().some((e) => e.event === 'retry')).toBe(false);
  });

  it('lets one address hold only its share: its next stream replaces its own oldest, and others keep theirs', async () => {
    const { page, port } = await start({ maxStreams: 4, maxStreamsPerClient: 2 });
    const other = await openFrom(port, '127.0.0.2');
    const [a, b] = [await open(port), await open(port)];
    await a!.next('series');

    const c = await open(port);
    expect(c.status).toBe(200);
    await within(a!.ended, "the address's oldest stream ended");
    expect(page.streams()).toBe(3);

    // Full house: the busiest address (127.0.0.1, two streams) gives way, not the others.
    const third = await openFrom(port, '127.0.0.3');
    expect(page.streams()).toBe(4);
    const fourth = await openFrom(port, '127.0.0.4');
    await within(b!.ended, 'the busiest address lost its oldest stream');
    expect(page.streams()).toBe(4);
    expect([other, third, fourth].map((s) => s.closed())).toEqual([false, false, false]);
    expect(other.text()).not.toContain('retry: 30000');
  });

  it('cuts the connection of a replaced stream whose client does not read up to its end', async () => {
    const { page, port } = await start({ maxStreams: 1, maxBufferedBytes: 64 * 1024 * 1024, replacedDrainMs: 200 });
    const stalled = connect(port, '127.0.0.1');
    sockets.push(stalled);
    stalled.pause();
    stalled.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    let received = '';
    stalled.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const stalledClosed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    await until('the stalled stream open', () => page.streams() === 1);
    // Past what the kernel's socket buffers hold (a few MB), under the cut-off for a stream that is not reading.
    seriesPad = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 640; i++) {
      page.seriesChanged();
      await new Promise((r) => setImmediate(r));
    }
    seriesPad = '';

    const reader = await open(port);
    expect(reader.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    // The end frame was still behind the backlog when the connection was cut, so it never comes.
    stalled.resume();
    await within(stalledClosed, 'the replaced connection closed', 5000);
    expect(received).not.toContain('retry: 30000');
    expect(page.streams()).toBe(1);
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
    // The page's own timers, not the process's: another file's server closing meanwhile must not count.
    const made: NodeJS.Timeout[] = [];
    const record = <F extends (...args: never[]) => NodeJS.Timeout>(fn: F) =>
      ((...args: Parameters<F>) => {
        const t = fn(...args);
        if (new Error().stack?.includes('page/events')) made.push(t);
        return t;
      }) as unknown as F;
    const [realInterval, realTimeout] = [globalThis.setInterval, globalThis.setTimeout];
    const spies = [
      vi.spyOn(globalThis, 'setInterval').mockImplementation(record(realInterval) as typeof setInterval),
      vi.spyOn(globalThis, 'setTimeout').mockImplementation(record(realTimeout) as typeof setTimeout),
    ];
    const live = () => made.filter((t) => !(t as unknown as { _destroyed: boolean })._destroyed).length;
    const { page, port } = await start({ heartbeatMs: 50 });
    expect(live()).toBe(1);
    const [a, b] = [await open(port), await open(port)];
    page.changed();
    await a!.next('status');
    page.close();
    await within(Promise.all([a!.ended, b!.ended]), 'every stream ended');
    expect(page.streams()).toBe(0);
    const late = await open(port);
    expect(late.status).toBe(503);
    // The heartbeat and the coalescing window are gone.
    for (const spy of spies) spy.mockRestore();
    expect(made.length).toBeGreaterThanOrEqual(2);
    expect(live()).toBe(0);
  });
});
