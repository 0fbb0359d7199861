// The operator port's bounds over real sockets: stalled requests (slowloris)
// are cut off, a long response is not, idle keep-alive connections end, and
// the connection cap holds. The limits are shrunk through the options; the
// bounds checked are several times theirs, so a loaded host does not fail them.
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { json, startHttpServer, type HttpServer, type ServerLimits } from '../../../watcher/operator/server.js';
import { rawHttp } from '../../support/rawHttp.js';

const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

let server: HttpServer | undefined;
const logs: string[] = [];
const sockets: Socket[] = [];

async function start(limits: Partial<ServerLimits>): Promise<number> {
  server = await startHttpServer({
    port: 0,
    routes: {
      '/healthz': json(() => ({ status: 'ok' })),
      // A long-lived answer, like /events: headers at once, then a chunk every 50 ms.
      '/stream': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const tick = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(tick));
      },
    },
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    limits,
  });
  return server.port;
}

interface Client {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves with the ms from connect to the server closing the connection. */
  closed: Promise<number>;
}

/** A connection that sends `bytes` (maybe none, maybe half a request) and then nothing. */
function stall(port: number, bytes: string): Client {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const openedAt = performance.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  if (bytes) socket.write(bytes);
  return {
    socket,
    received: () => text,
    closed: new Promise((resolve) => socket.on('close', () => resolve(performance.now() - openedAt))),
  };
}

/** A kept-alive connection that has had one answer: the server has surely accepted it. */
async function keptAlive(port: number): Promise<Client> {
  const client = stall(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the kept-alive request is answered', () => client.received().includes('"ok"'));
  return client;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function within<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A 200 from /healthz, or the status (0 for a dropped connection). */
const healthz = (port: number) =>
  rawHttp(port, HEALTHZ, 3000).then(
    (answer) => answer.status,
    () => 0,
  );

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
  logs.length = 0;
});

describe('operator port limits', () => {
  it('closes connections that stall before their request is complete within headersTimeout + the check interval, and keeps answering /healthz', async () => {
    const port = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 100 });
    const slow = [
      stall(port, ''),
      stall(port, 'GET /healthz HT'),
      stall(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n'),
      ...Array.from({ length: 40 }, () => stall(port, 'GET / HTTP/1.1\r\nX-a: b\r\n')),
    ];
    expect(await healthz(port)).toBe(200);

    // 400 ms at most by the limits; Node's default check interval alone is 30 s.
    const after = await within(Promise.all(slow.map((c) => c.closed)), 'every stalled connection closed', 2500);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(250);
    expect(slow[1]!.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(await healthz(port)).toBe(200);
  });

  it('does not time out a response once its request is complete: a long answer outlives requestTimeout', async () => {
    const port = await start({ headersTimeoutMs: 200, requestTimeoutMs: 300, checkIntervalMs: 100 });
    // A slowloris beside it proves the checks run.
    const slow = stall(port, 'GET /healthz HT');
    let received = 0;
    let ended = false;
    const req = get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('close', () => (ended = true));
    });
    req.on('error', () => (ended = true));
    try {
      await within(slow.closed, 'the stalled connection closed', 2000);
      await new Promise((r) => setTimeout(r, 1200));
      const before = received;
      await until('the long answer goes on', () => received > before);
      expect(ended).toBe(false);
    } finally {
      req.destroy();
    }
  });

  it('closes an idle kept-alive connection after keepAliveTimeout', async () => {
    const port = await start({ keepAliveTimeoutMs: 200 });
    const client = await keptAlive(port);
    // Node closes it 1 s (keepAliveTimeoutBuffer) after the timeout; its default timeout alone is 5 s.
    await within(client.closed, 'the idle connection closed', 4000);
  });

  it('drops connections past maxConnections at once, logs that once, and accepts again when one closes', async () => {
    const port = await start({ maxConnections: 4, keepAliveTimeoutMs: 10_000 });
    const held = [await keptAlive(port), await keptAlive(port), await keptAlive(port), await keptAlive(port)];

    const extra = stall(port, '');
    await within(extra.closed, 'the connection past the cap dropped', 2000);
    expect(extra.received()).toBe('');
    expect(await healthz(port)).toBe(0);
    const warnings = logs.filter((line) => line.includes('too many open connections'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ maxConnections: 4, countSinceLastLog: 1 });

    held[0]!.socket.destroy();
    await held[0]!.closed;
    let status = 0;
    // The server learns of the close a moment after the client.
    for (const deadline = Date.now() + 3000; status !== 200 && Date.now() < deadline; ) status = await healthz(port);
    expect(status).toBe(200);
  });
});
