// The watcher's HTTP server: exact paths only, GET (and HEAD) only. Each
// surface brings its own handlers: /healthz and /stats (operator/), /metrics
// (metrics/), the status page and its event stream (page/).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';

/** Answers one GET or HEAD of its path; a throw or rejection becomes a 500. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServer {
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

/** A complete answer with a known length: `text` as is, anything else as JSON. */
export function reply(
  res: ServerResponse,
  status: number,
  body: object | string,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A handler answering GET with `body()` as JSON. */
export const json =
  (body: () => object): Handler =>
  (_req, res) =>
    reply(res, 200, body());

export async function startHttpServer(opts: {
  port: number;
  routes: Record<string, Handler>;
  logger: Logger;
}): Promise<HttpServer> {
  const { routes } = opts;
  const log = opts.logger.child({ component: 'http' });
  const server = createServer((req, res) => {
    const path = targetPath(req.url);
    if (path === undefined) return reply(res, 400, { error: 'bad request target' });
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) return reply(res, 404, { error: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return reply(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    }
    const failed = (err: unknown) => {
      log.error({ path, error: (err as Error).message }, 'request handler failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    };
    try {
      void Promise.resolve(route(req, res)).catch(failed);
    } catch (err) {
      failed(err);
    }
  });
  // Scrapes and healthchecks are short; a stuck client must not hold shutdown.
  // Event streams are long by design: their handler lifts the timeout for itself.
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  log.info({ port, paths: Object.keys(routes) }, 'http server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
