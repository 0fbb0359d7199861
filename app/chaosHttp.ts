// Chaos at the HTTP edge: the switch (/chaos/start, /chaos/stop) behind the
// optional CHAOS_TOKEN, and the faults it injects into the other requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  bearerMatches,
  chaosExempt,
  parseChaosParams,
  RELEASED_BY_SHUTDOWN,
  type Chaos,
  type HeldRequests,
} from './chaos.js';
import type { SendJson } from './http.js';
import { WRITE, type Route } from './routes.js';

interface SwitchOptions {
  chaos: Chaos;
  pool: string;
  token: string | undefined;
  log: Logger;
  send: SendJson;
}

export function chaosRoutes({ chaos, pool, token, log, send }: SwitchOptions): [string, Route][] {
  const admit = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (token === undefined || bearerMatches(req.headers.authorization, token)) return true;
    send(
      res,
      401,
      { error: `${path} needs the header Authorization: Bearer <CHAOS_TOKEN>` },
      { 'WWW-Authenticate': 'Bearer realm="chaos"' },
    );
    return false;
  };
  return [
    [
      '/chaos/start',
      {
        methods: WRITE,
        admit,
        handle: (res, query) => {
          const parsed = parseChaosParams(query);
          if (!parsed.ok) {
            send(res, 400, { error: parsed.error });
            return;
          }
          const { mode, rate } = parsed.settings;
          chaos.start(parsed.settings);
          log.warn({ mode, rate }, 'chaos activated');
          send(res, 200, { status: 'chaos activated', mode, rate, pool });
        },
      },
    ],
    [
      '/chaos/stop',
      {
        methods: WRITE,
        admit,
        handle: (res) => {
          const previous = chaos.stop();
          log.info({ previous }, 'chaos stopped');
          send(res, 200, { status: 'chaos stopped', wasActive: previous !== undefined, pool });
        },
      },
    ],
  ];
}

interface FaultOptions {
  chaos: Chaos;
  held: HeldRequests;
  pool: string;
  draining: () => boolean;
  send: SendJson;
}

/** Answers a request with the fault chaos picks for it: true if it did, false to serve it. */
export type FaultInjector = (path: string, res: ServerResponse) => boolean;

export function faultInjector({ chaos, held, pool, draining, send }: FaultOptions): FaultInjector {
  const hold = (res: ServerResponse): void => {
    const answer = (reason: string) => send(res, 503, { error: `chaos timeout: ${reason}`, pool });
    // Held now, a request would only keep the drain waiting until it is forced.
    if (draining()) answer(RELEASED_BY_SHUTDOWN);
    // The client (Nginx, after its read timeout) may leave first: drop the timer with it.
    else res.once('close', held.hold(answer));
  };
  return (path, res) => {
    if (chaosExempt(path)) return false;
    const fault = chaos.pick();
    if (fault === 'error') send(res, 500, { error: 'chaos error: simulated failure', pool });
    else if (fault === 'timeout') hold(res);
    return fault !== undefined;
  };
}
