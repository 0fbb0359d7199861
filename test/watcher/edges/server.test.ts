import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startHealthServer, type HealthServer } from '../../../watcher/operator/health.js';
import { rawHttp } from '../../support/rawHttp.js';

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
