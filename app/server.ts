// One app pool: what every request goes through (its identity headers, its
// log line, chaos), then the routes, on a server whose lifecycle drains it.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Chaos, HeldRequests, type Random } from './chaos.js';
import { chaosRoutes, faultInjector } from './chaosHttp.js';
import type { AppConfig } from './config.js';
import { clientErrorHandler, jsonSender } from './http.js';
import { createLifecycle } from './lifecycle.js';
import { probeRoutes, router } from './routes.js';

export interface AppOptions {
  config: Pick<AppConfig, 'APP_POOL' | 'RELEASE_ID' | 'CHAOS_HOLD_MS' | 'SHUTDOWN_TIMEOUT_MS' | 'CHAOS_TOKEN'>;
  logger: Logger;
  /** Decides which requests `rate` affects; defaults to Math.random. */
  random?: Random;
}

export interface App {
  /** Not listening yet: the caller chooses the port. */
  server: Server;
  /**
   * Graceful stop: refuse new connections, answer held chaos requests at once,
   * let in-flight requests finish, force-close whatever is left after
   * SHUTDOWN_TIMEOUT_MS. Idempotent; resolves when the server is closed.
   */
  shutdown(): Promise<void>;
  /** Requests currently held by `timeout` chaos; lets tests prove none leak. */
  heldRequests(): number;
}

export function createApp({ config, logger, random }: AppOptions): App {
  const pool = config.APP_POOL;
  const release = config.RELEASE_ID;
  const log = logger.child({ pool, release });
  const chaos = new Chaos(random);
  const held = new HeldRequests(config.CHAOS_HOLD_MS);
  const { server, draining, shutdown } = createLifecycle({ log, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, held });
  const send = jsonSender(draining);
  const injectFault = faultInjector({ chaos, held, pool, draining, send });
  const route = router(
    new Map([
      ...probeRoutes({ pool, release, chaos, draining, send }),
      ...chaosRoutes({ chaos, pool, token: config.CHAOS_TOKEN, log, send }),
    ]),
    send,
  );

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    const requestId = req.headers['x-request-id'];

    res.setHeader('X-App-Pool', pool);
    res.setHeader('X-Release-Id', release);
    if (requestId !== undefined) res.setHeader('X-Request-Id', requestId);

    res.once('close', () => {
      const aborted = !res.writableFinished;
      // 499 is Nginx's code for "client closed the request", so both logs agree.
      const status = aborted ? 499 : res.statusCode;
      // A failed or abandoned request is a warning, so LOG_LEVEL=warn (which
      // saves a log line per request, most of the app's own cost) still has
      // every one, with its request id.
      log[status >= 500 || aborted ? 'warn' : 'info'](
        {
          requestId,
          method: req.method,
          path,
          status,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          ...(aborted && { aborted }),
        },
        'request',
      );
    });

    if (!injectFault(path, res)) route(req, res, path, query);
  }

  server.on('request', onRequest);
  server.on('clientError', clientErrorHandler(pool, release, log));
  return { server, shutdown, heldRequests: () => held.size };
}
