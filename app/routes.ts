// The routes table and how a request finds its route; the pool's own
// endpoints. Chaos brings its routes from chaosHttp.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Chaos } from './chaos.js';
import type { SendJson } from './http.js';

export interface Route {
  methods: readonly string[];
  /**
   * Runs before the method check, so a refused caller learns nothing about
   * the route; answers the request itself when it returns false.
   */
  admit?(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  handle(res: ServerResponse, query: URLSearchParams): void;
}

export const READ = ['GET', 'HEAD'] as const;
export const WRITE = ['POST'] as const;

interface ProbeOptions {
  pool: string;
  release: string;
  chaos: Chaos;
  draining: () => boolean;
  send: SendJson;
}

export function probeRoutes({ pool, release, chaos, draining, send }: ProbeOptions): [string, Route][] {
  const host = hostname();
  return [
    [
      '/version',
      {
        methods: READ,
        handle: (res) =>
          send(res, 200, {
            pool,
            release,
            hostname: host,
            uptimeSeconds: Math.floor(process.uptime()),
          }),
      },
    ],
    ['/healthz', { methods: READ, handle: (res) => send(res, 200, { status: 'ok', pool }) }],
    [
      '/readyz',
      {
        methods: READ,
        handle: (res) => {
          const active = chaos.settings;
          const reason = draining()
            ? 'shutting down'
            : active && `chaos active (mode ${active.mode}, rate ${active.rate})`;
          if (reason) send(res, 503, { status: 'not ready', reason, pool });
          else send(res, 200, { status: 'ready', pool });
        },
      },
    ],
  ];
}

export type Router = (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => void;

export function router(routes: ReadonlyMap<string, Route>, send: SendJson): Router {
  return (req, res, path, query) => {
    // Exact, case-sensitive match on the raw path: nothing is decoded or
    // normalised, so /CHAOS/start or /%63haos/start can never reach a chaos route.
    const route = routes.get(path);
    if (!route) {
      send(res, 404, { error: `not found: ${path}` });
      return;
    }
    if (route.admit && !route.admit(req, res, path)) return;
    const method = req.method ?? '';
    if (!route.methods.includes(method)) {
      const allow = route.methods.join(', ');
      const error = `method ${method} not allowed on ${path}; allowed: ${allow}`;
      send(res, 405, { error }, { Allow: allow });
      return;
    }
    route.handle(res, query);
  };
}
