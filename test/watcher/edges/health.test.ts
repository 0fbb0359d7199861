import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startHealthServer, type HealthServer } from '../../../watcher/operator/health.js';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes as they are, so a target no HTTP client would write reaches the server. */
function rawHttp(port: number, request: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no complete answer within 5 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, end === -1 ? text.length : end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? 0),
        headers,
        body: end === -1 ? '' : text.slice(end + 4),
      });
    });
    socket.write(request);
  });
}

const request = (method: string, target: string) =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

let server: HealthServer;
const logs: string[] = [];

beforeEach(async () => {
  server = await startHealthServer({
    port: 0,
    stats: () => ({ alerts: 0 }),
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
  });
});

afterEach(async () => {
  await server.close();
});

describe('health server', () => {
  it('answers 400 to a request target that cannot be parsed, and keeps serving', async () => {
    const bad = await rawHttp(server.port, request('GET', '//['));
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/json');
    expect(JSON.parse(bad.body)).toEqual({ error: 'bad request target' });

    const healthz = await rawHttp(server.port, request('GET', '/healthz'));
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body)).toEqual({ status: 'ok' });
  });

  it('answers /stats with the snapshot', async () => {
    const stats = await rawHttp(server.port, request('GET', '/stats?x=1'));
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body)).toEqual({ alerts: 0 });
  });

  it('answers 404 to an unknown path, whatever the method', async () => {
    expect((await rawHttp(server.port, request('GET', '/nope'))).status).toBe(404);
    expect((await rawHttp(server.port, request('POST', '/nope'))).status).toBe(404);
    // Inherited object keys are not routes.
    expect((await rawHttp(server.port, request('GET', '/constructor'))).status).toBe(404);
  });

  it('answers 405 with Allow: GET to another method on a known path', async () => {
    for (const path of ['/healthz', '/stats']) {
      const reply = await rawHttp(server.port, request('POST', path));
      expect(reply.status).toBe(405);
      expect(reply.headers['allow']).toBe('GET');
    }
  });
});
