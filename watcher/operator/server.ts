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

/**
 * What one client may cost the port. Its clients are the host (through the
 * 127.0.0.1 publish), Prometheus and the healthcheck, none of which needs more
 * than milliseconds to send a request of a few hundred bytes, so the request
 * timeouts are short: a connection that stalls before its request is complete
 * (slowloris) is answered 408 and closed within headersTimeoutMs +
 * checkIntervalMs. They apply to receiving the request only: once a request
 * is complete nothing times it out, so an /events stream lives as long as its
 * client reads it (events.ts bounds those).
 */
export interface ServerLimits {
  /** The request line and headers must arrive within this of the connection's (or the request's) start. */
  headersTimeoutMs: number;
  /** The whole request, body included: GET and HEAD have none, so this only ends a body dripped at a 404 or 405. */
  requestTimeoutMs: number;
  /** Node checks both timeouts this often (its default, 30 s, let a stalled connection live 30 s past them). */
  checkIntervalMs: number;
  /** An idle keep-alive connection is closed after this (and Node's 1 s keepAliveTimeoutBuffer, so the client closes first). */
  keepAliveTimeoutMs: number;
  /** Open connections; Node drops the next one at accept. */
  maxConnections: number;
}

export const SERVER_LIMITS: Readonly<ServerLimits> = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
  // Node's default: spans a page load's asset requests; Prometheus scrapes
  // every 15 s, so holding its connection in between would only hold a slot.
  keepAliveTimeoutMs: 5_000,
  // The streams (16), Prometheus, healthchecks and a few people need ~30; the
  // rest is room for stalled connections, each gone within ~6 s, so /healthz
  // is refused only while over ~40 new stalled connections a second keep
  // coming. Each costs a file descriptor and a few KB.
  maxConnections: 256,
};

/** At most one warning about dropped connections per this. */
const DROP_LOG_EVERY_MS = 10_000;

export async function startHttpServer(opts: {
  port: number;
  routes: Record<string, Handler>;
  logger: Logger;
  limits?: Partial<ServerLimits>;
}): Promise<HttpServer> {
  const { routes } = opts;
  const limits = { ...SERVER_LIMITS, ...opts.limits };
  const log = opts.logger.child({ component: 'http' });
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  };
  const server = createServer(timeouts, (req, res) => {
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
  server.maxConnections = limits.maxConnections;
  let droppedSinceLog = 0;
  let droppedLoggedAt = -Infinity;
  server.on('drop', () => {
    droppedSinceLog++;
    const now = performance.now();
    if (now - droppedLoggedAt < DROP_LOG_EVERY_MS) return;
    log.warn({ maxConnections: limits.maxConnections, countSinceLastLog: droppedSinceLog }, 'too many open connections: new ones dropped');
    droppedLoggedAt = now;
    droppedSinceLog = 0;
  });
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
