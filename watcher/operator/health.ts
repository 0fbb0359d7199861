// GET /healthz for the Compose healthcheck, GET /stats for operators.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';

export interface HealthServer {
  /** The bound port: the one asked for, or the kernel's pick when asked for 0. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The path of a request target, or undefined when it cannot be parsed: the
 * target is the client's bytes (`//[` throws in `new URL`), and a throw in the
 * request handler would be uncaught and end the daemon.
 */
function targetPath(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export async function startHealthServer(opts: {
  port: number;
  stats: () => object;
  logger: Logger;
}): Promise<HealthServer> {
  const routes: Record<string, () => object> = {
    '/healthz': () => ({ status: 'ok' }),
    '/stats': opts.stats,
  };
  const server = createServer((req, res) => {
    const path = targetPath(req.url);
    if (path === undefined) return reply(res, 400, { error: 'bad request target' });
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) return reply(res, 404, { error: 'not found' });
    if (req.method !== 'GET') return reply(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
    reply(res, 200, route());
  });
  // Scrapes and healthchecks are short; a stuck client must not hold shutdown.
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  opts.logger.info({ component: 'health', port }, 'health and stats server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
