// Pings a dead-man's switch (healthchecks.io, Cronitor, an Uptime Kuma push
// monitor) every interval: HEARTBEAT_URL while healthy, HEARTBEAT_URL/fail
// with the reason when not. Nothing is sent once the watcher stops, crashes
// or hangs: the service then alerts on the silence, which Slack never could.
// The URL's path is its secret: logs name the host only.
import { secretUrlScrubber } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import { httpCall } from '../notify/http.js';
import type { Clock } from '../types.js';
import type { Health } from './health.js';

// A ping that takes longer than this is a failed ping, not a late one.
const MAX_PING_MS = 10_000;

export interface HeartbeatOptions {
  url: string;
  intervalMs: number;
  check(): Health;
  logger: Logger;
  clock: Clock;
}

export type HeartbeatStatus =
  | { url: 'off' }
  | {
      url: 'configured';
      intervalSec: number;
      /** ISO 8601 of the last ping that got an answer. */
      lastSentAt?: string;
      lastResult?: 'ok' | 'fail';
      /** Why the last ping said fail. */
      reason?: string;
      /** Why the last ping did not get through, until one does. */
      error?: string;
    };

export interface Heartbeat {
  status(): HeartbeatStatus;
  /** No ping after this; waits for one in flight. */
  stop(): Promise<void>;
}

export const HEARTBEAT_OFF: Heartbeat = { status: () => ({ url: 'off' }), stop: async () => {} };

/** The healthchecks.io convention: <url>/fail, before any query string. */
export function failUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/fail`;
  return u.toString();
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const { host } = new URL(opts.url);
  // Error texts can quote the URL they failed on.
  const scrub = secretUrlScrubber(opts.url);
  const log = opts.logger.child({ component: 'heartbeat', host });
  const fail = failUrl(opts.url);
  const status: Extract<HeartbeatStatus, { url: 'configured' }> = { url: 'configured', intervalSec: opts.intervalMs / 1000 };
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  // Cuts a ping in flight at stop: a slow dead-man's switch must not hold up a shutdown.
  const stopping = new AbortController();

  async function beat(): Promise<void> {
    try {
      const health = opts.check();
      const body = health.healthy ? 'ok' : health.reason;
      const answer = await httpCall(health.healthy ? opts.url : fail, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body,
        timeoutMs: Math.min(MAX_PING_MS, opts.intervalMs),
        signal: stopping.signal,
      });
      if (answer.status >= 300) throw new Error(`HTTP ${answer.status}`);
      const result = health.healthy ? 'ok' : 'fail';
      if (result !== status.lastResult) {
        if (health.healthy) log.info('heartbeat: healthy');
        else log.warn({ reason: health.reason }, 'heartbeat: reporting unhealthy (/fail)');
      }
      if (status.error !== undefined) log.info('heartbeat delivered again');
      status.lastSentAt = new Date(opts.clock()).toISOString();
      status.lastResult = result;
      status.reason = health.healthy ? undefined : health.reason;
      status.error = undefined;
    } catch (err) {
      if (stopped) return;
      const error = (err as Error).name === 'TimeoutError' ? 'no answer in time' : scrub((err as Error).message);
      // Once per outage: a dead-man's switch that cannot be reached will say so itself.
      if (status.error === undefined) log.warn({ error }, 'heartbeat not delivered; will try at the next interval');
      status.error = error;
    }
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      const started = opts.clock();
      inFlight = beat().finally(() => {
        inFlight = undefined;
        // The next one an interval after this one began, not after it ended: a slow ping does not stretch the period.
        if (!stopped) schedule(Math.max(0, started + opts.intervalMs - opts.clock()));
      });
    }, delayMs);
  }

  schedule(0);
  return {
    status: () => ({ ...status }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      stopping.abort();
      await inFlight;
    },
  };
}
