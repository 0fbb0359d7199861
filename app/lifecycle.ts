// The server's life: connections kept alive for Nginx, a graceful drain
// bounded in time, and the process around it (listen, signals, exit code).
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

// Above Nginx's 60 s upstream keepalive_timeout: Node must never close a
// connection Nginx is about to reuse, or that request fails with a 502.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Node's advice: headersTimeout above keepAliveTimeout, so the headers timer
// never cuts a keep-alive connection that is merely waiting for its next request.
const HEADERS_TIMEOUT_MS = 66_000;

/** Requests that would not finish by themselves within the drain: chaos holds. */
export interface Releasable {
  readonly size: number;
  releaseAll(): void;
}

export interface LifecycleOptions {
  log: Logger;
  /** SHUTDOWN_TIMEOUT_MS: how long in-flight requests may take before their connections are cut. */
  timeoutMs: number;
  held: Releasable;
}

export interface Lifecycle {
  /** Not listening yet, and without a request listener: the caller adds both. */
  readonly server: Server;
  /** True once shutdown has begun. */
  draining(): boolean;
  /**
   * Graceful stop: refuse new connections, answer held requests at once,
   * let in-flight requests finish, force-close whatever is left after
   * timeoutMs. Idempotent; resolves when the server is closed.
   */
  shutdown(): Promise<void>;
}

export function createLifecycle({ log, timeoutMs, held }: LifecycleOptions): Lifecycle {
  let inFlight = 0;
  let draining = false;
  let shutdownPromise: Promise<void> | undefined;

  const server = createServer();
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.on('request', (_req, res) => {
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
  });

  function shutdown(): Promise<void> {
    shutdownPromise ??= (async () => {
      draining = true;
      const startedAt = performance.now();
      log.info({ inFlight, held: held.size }, 'shutdown started');
      // close() stops accepting and, since Node 19, also drops idle keep-alive
      // connections; busy ones end after their response (Connection: close).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      held.releaseAll();
      let forced = false;
      const force = setTimeout(() => {
        forced = true;
        log.warn({ inFlight, timeoutMs }, 'shutdown timeout, closing remaining connections');
        server.closeAllConnections();
      }, timeoutMs);
      await closed;
      clearTimeout(force);
      log.info({ forced, durationMs: Math.round(performance.now() - startedAt) }, 'shutdown complete');
    })();
    return shutdownPromise;
  }

  return { server, draining: () => draining, shutdown };
}

export interface ServeOptions {
  port: number;
  logger: Logger;
  /** Added to the `listening` line, after the port. */
  fields: Record<string, unknown>;
}

/** Runs a server as the whole process: listen, drain on SIGTERM or SIGINT, exit 0 once closed. */
export function serve({ server, shutdown }: Pick<Lifecycle, 'server' | 'shutdown'>, options: ServeOptions): void {
  const { port, logger, fields } = options;
  server.on('error', (err) => {
    logger.fatal({ err }, 'server error');
    process.exit(1);
  });
  server.listen(port, () => logger.info({ port, ...fields }, 'listening'));

  // `once`: a second signal falls back to Node's default and kills the process,
  // the way out if a graceful stop ever hangs.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      void shutdown().then(() => process.exit(0));
    });
  }
}
