import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { json, startHttpServer, type HttpServer } from '../../../watcher/operator/server.js';
import { rawHttp } from '../../support/rawHttp.js';

const request = (method: string, target: string) =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

let server: HttpServer;
const logs: string[] = [];

beforeEach(async () => {
  server = await startHttpServer({
    port: 0,
    routes: {
      '/healthz': json(() => ({ status: 'ok' })),
      '/stats': json(() => ({ alerts: 0 })),
      '/boom': () => {
        throw new Error('handler bug');
      },
      '/reject': async () => {
        throw new Error('async handler bug');
      },
    },
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
  });
});

afterEach(async () => {
  await server.close();
});

describe('http server', () => {
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

  it('answers 405 with Allow: GET, HEAD to another method on a known path', async () => {
    for (const [method, path] of [['POST', '/healthz'], ['PUT', '/stats'], ['DELETE', '/healthz']] as const) {
      const reply = await rawHttp(server.port, request(method, path));
      expect(reply.status).toBe(405);
      expect(reply.headers['allow']).toBe('GET, HEAD');
    }
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const head = await rawHttp(server.port, request('HEAD', '/stats'));
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(JSON.stringify({ alerts: 0 }).length));
    expect(head.body).toBe('');
  });

  it('answers 500 when a handler throws or rejects, logs it, and keeps serving', async () => {
    for (const path of ['/boom', '/reject']) {
      const reply = await rawHttp(server.port, request('GET', path));
      expect(reply.status).toBe(500);
      expect(JSON.parse(reply.body)).toEqual({ error: 'internal error' });
    }
    expect(logs.join('')).toContain('handler bug');
    expect((await rawHttp(server.port, request('GET', '/healthz'))).status).toBe(200);
  });
});
