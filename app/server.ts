import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { bearerMatches } from './auth.js';
import { Chaos, parseChaosParams, type Random } from './chaos.js';
import type { AppConfig } from './config.js';

// Above Nginx's 60 s upstream keepalive_timeout: Node must never close a
// connection Nginx is about to reuse, or that request fails with a 502.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Node's advice: headersTimeout above keepAliveTimeout, so the headers timer
// never cuts a keep-alive connection that is merely waiting for its next request.
const HEADERS_TIMEOUT_MS = 66_000;

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

interface Route {
  methods: readonly string[];
  /** Needs `Authorization: Bearer <CHAOS_TOKEN>` when a token is configured. */
  guarded?: boolean;
  handle(res: ServerResponse, query: URLSearchParams): void;
}

const READ = ['GET', 'HEAD'] as const;
const WRITE = ['POST'] as const;
const RELEASED_BY_SHUTDOWN = 'released early, pool shutting down';

// Probes and the chaos switch must keep working while chaos is on, or a drill
// could not be observed or ended.
const chaosExempt = (path: string): boolean =>
  path === '/healthz' || path === '/readyz' || path.startsWith('/chaos/');

export function createApp({ config, logger, random }: AppOptions): App {
  const pool = config.APP_POOL;
  const release = config.RELEASE_ID;
  const host = hostname();
  const log = logger.child({ pool, release });
  const chaos = new Chaos(random);
  /** Release functions of requests held by `timeout` chaos. */
  const held = new Set<(reason: string) => void>();
  let inFlight = 0;
  let shuttingDown = false;
  let shutdownPromise: Promise<void> | undefined;

  function sendJson(
    res: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ): void {
    const payload = JSON.stringify(body);
    // Once shutdown has begun, each connection ends with its current response.
    if (shuttingDown) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      'Cache-Control': 'no-store',
    });
    // Node drops the body of a HEAD answer itself but keeps Content-Length.
    res.end(payload);
  }

  function hold(res: ServerResponse): void {
    const answer = (reason: string) => sendJson(res, 503, { error: `chaos timeout: ${reason}`, pool });
    if (shuttingDown) {
      answer(RELEASED_BY_SHUTDOWN);
      return;
    }
    const forget = (): void => {
      clearTimeout(timer);
      held.delete(releaseHeld);
    };
    const releaseHeld = (reason: string): void => {
      forget();
      answer(reason);
    };
    const timer = setTimeout(releaseHeld, config.CHAOS_HOLD_MS, `held for ${config.CHAOS_HOLD_MS} ms`);
    held.add(releaseHeld);
    // The client (Nginx, after its read timeout) may leave first: drop the timer with it.
    res.once('close', forget);
  }

  const routes = new Map<string, Route>([
    [
      '/version',
      {
        methods: READ,
        handle: (res) =>
          sendJson(res, 200, {
            pool,
            release,
            hostname: host,
            uptimeSeconds: Math.floor(process.uptime()),
          }),
      },
    ],
    ['/healthz', { methods: READ, handle: (res) => sendJson(res, 200, { status: 'ok', pool }) }],
    [
      '/readyz',
      {
        methods: READ,
        handle: (res) => {
          const active = chaos.settings;
          const reason = shuttingDown
            ? 'shutting down'
            : active && `chaos active (mode ${active.mode}, rate ${active.rate})`;
          if (reason) sendJson(res, 503, { status: 'not ready', reason, pool });
          else sendJson(res, 200, { status: 'ready', pool });
        },
      },
    ],
    [
      '/chaos/start',
      {
        methods: WRITE,
        guarded: true,
        handle: (res, query) => {
          const parsed = parseChaosParams(query);
          if (!parsed.ok) {
            sendJson(res, 400, { error: parsed.error });
            return;
          }
          const { mode, rate } = parsed.settings;
          chaos.start(parsed.settings);
          log.warn({ mode, rate }, 'chaos activated');
          sendJson(res, 200, { status: 'chaos activated', mode, rate, pool });
        },
      },
    ],
    [
      '/chaos/stop',
      {
        methods: WRITE,
        guarded: true,
        handle: (res) => {
          const previous = chaos.stop();
          log.info({ previous }, 'chaos stopped');
          sendJson(res, 200, { status: 'chaos stopped', wasActive: previous !== undefined, pool });
        },
      },
    ],
  ]);

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

    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
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

    if (!chaosExempt(path)) {
      const fault = chaos.pick();
      if (fault === 'error') {
        sendJson(res, 500, { error: 'chaos error: simulated failure', pool });
        return;
      }
      if (fault === 'timeout') {
        hold(res);
        return;
      }
    }

    // Exact, case-sensitive match on the raw path: nothing is decoded or
    // normalised, so /CHAOS/start or /%63haos/start can never reach a chaos route.
    const route = routes.get(path);
    if (!route) {
      sendJson(res, 404, { error: `not found: ${path}` });
      return;
    }
    const token = config.CHAOS_TOKEN;
    if (route.guarded && token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      sendJson(
        res,
        401,
        { error: `${path} needs the header Authorization: Bearer <CHAOS_TOKEN>` },
        { 'WWW-Authenticate': 'Bearer realm="chaos"' },
      );
      return;
    }
    const method = req.method ?? '';
    if (!route.methods.includes(method)) {
      const allow = route.methods.join(', ');
      const error = `method ${method} not allowed on ${path}; allowed: ${allow}`;
      sendJson(res, 405, { error }, { Allow: allow });
      return;
    }
    route.handle(res, query);
  }

  // Node's own answer to unparsable requests is a bare 400 without our headers.
  function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Same guard as Node's default handler: never write into a response under way.
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const statusText = STATUS_CODES[status] ?? 'Bad Request';
    const payload = JSON.stringify({ error: statusText });
    log.warn({ err: err.code ?? err.message, status }, 'unparsable request');
    socket.end(
      [
        `HTTP/1.1 ${status} ${statusText}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(payload)}`,
        'Cache-Control: no-store',
        `X-App-Pool: ${pool}`,
        `X-Release-Id: ${release}`,
        'Connection: close',
        '',
        payload,
      ].join('\r\n'),
    );
  }

  const server = createServer(onRequest);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.on('clientError', onClientError);

  function shutdown(): Promise<void> {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      const startedAt = performance.now();
      log.info({ inFlight, held: held.size }, 'shutdown started');
      // close() stops accepting and, since Node 19, also drops idle keep-alive
      // connections; busy ones end after their response (Connection: close).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const releaseHeld of held) releaseHeld(RELEASED_BY_SHUTDOWN);
      let forced = false;
      const force = setTimeout(() => {
        forced = true;
        log.warn(
          { inFlight, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
          'shutdown timeout, closing remaining connections',
        );
        server.closeAllConnections();
      }, config.SHUTDOWN_TIMEOUT_MS);
      await closed;
      clearTimeout(force);
      log.info({ forced, durationMs: Math.round(performance.now() - startedAt) }, 'shutdown complete');
    })();
    return shutdownPromise;
  }

  return { server, shutdown, heldRequests: () => held.size };
}
