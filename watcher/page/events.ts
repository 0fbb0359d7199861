// GET /events: the status page's Server-Sent Events. Every stream gets
// `status` and `series` at once, then `status` on each change (bursts
// coalesced) and `series` as each step closes. The watcher must not be hurt
// by its audience: streams are few, a client that does not read is cut off
// before its backlog grows, and a push never throws into the pipeline.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../common/logger.js';
import { reply, type Handler } from '../operator/server.js';
import type { PageSeries, PageStatus } from './model.js';

export const MAX_STREAMS = 16;
/** Unread bytes one stream may hold; a page reads each event at once, so far more than one `series` event means it stopped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** A write to a connection whose peer vanished fails within a few of these. */
export const HEARTBEAT_MS = 15_000;
/** At most one `status` push per this, and always one after the last change. */
export const COALESCE_MS = 100;
/** How long EventSource waits before reconnecting. */
const RETRY_MS = 1000;
// A full house has no free slot for a while: a page that reconnects at once would only be refused again.
const FULL_RETRY_AFTER_SEC = '5';

export interface EventHubOptions {
  status: () => PageStatus;
  series: () => PageSeries;
  logger: Logger;
  /** Concurrent event streams; more are answered 503. */
  maxStreams?: number;
  /** Unread bytes after which a stream is cut off. */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** Headers every stream's answer carries (the page's security headers). */
  headers?: Record<string, string>;
}

export interface EventHub {
  handler: Handler;
  /** Something the `status` event shows changed: pushed at once, or at the end of the coalescing window. */
  changed(): void;
  /** A step closed: pushes `series` at once. */
  seriesChanged(): void;
  streams(): number;
  /** Ends every stream and stops every timer; later requests get 503. */
  close(): void;
}

const frame = (event: string, data: object): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function createEventHub(opts: EventHubOptions): EventHub {
  const maxStreams = opts.maxStreams ?? MAX_STREAMS;
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const log = opts.logger.child({ component: 'page' });
  const clients = new Set<ServerResponse>();
  let closed = false;
  let coalescing: NodeJS.Timeout | undefined;
  let pending = false;

  /** Writes to one stream, and cuts it off if its client stopped reading. */
  function send(res: ServerResponse, text: string): void {
    res.write(text);
    if (res.writableLength <= maxBuffered) return;
    log.warn({ buffered: res.writableLength, limit: maxBuffered }, 'status page client is not reading its events: stream closed');
    clients.delete(res);
    res.destroy();
  }

  function broadcast(event: string, data: () => object): void {
    if (clients.size === 0) return;
    let text: string;
    try {
      text = frame(event, data());
    } catch (err) {
      log.error({ event, error: (err as Error).message }, 'status page event failed');
      return;
    }
    for (const res of [...clients]) send(res, text);
  }

  function coalesceEnded(): void {
    coalescing = undefined;
    if (!pending) return;
    pending = false;
    broadcast('status', opts.status);
    coalescing = setTimeout(coalesceEnded, COALESCE_MS);
  }

  const heartbeat = setInterval(() => {
    for (const res of [...clients]) send(res, ': heartbeat\n\n');
  }, opts.heartbeatMs ?? HEARTBEAT_MS);

  const headers = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    ...opts.headers,
  };

  const handler: Handler = (req, res) => {
    if (closed) return reply(res, 503, { error: 'shutting down' }, opts.headers);
    if (req.method === 'HEAD') {
      res.writeHead(200, headers);
      return void res.end();
    }
    if (clients.size >= maxStreams) {
      return reply(res, 503, { error: 'too many event streams' }, { ...opts.headers, 'retry-after': FULL_RETRY_AFTER_SEC });
    }
    // Built before the answer starts: a snapshot that throws is the server's 500.
    const first = `retry: ${RETRY_MS}\n\n${frame('status', opts.status())}${frame('series', opts.series())}`;
    // The server's requestTimeout ends once the request is received; a GET
    // has no body, so an open stream is never timed out by it.
    res.writeHead(200, headers);
    res.on('close', () => clients.delete(res));
    clients.add(res);
    send(res, first);
  };

  return {
    handler,
    changed() {
      // With no stream there is nothing to push, and the next stream starts with the latest status.
      if (closed || clients.size === 0) return;
      if (coalescing !== undefined) {
        pending = true;
        return;
      }
      broadcast('status', opts.status);
      coalescing = setTimeout(coalesceEnded, COALESCE_MS);
    },
    seriesChanged() {
      if (!closed) broadcast('series', opts.series);
    },
    streams: () => clients.size,
    close() {
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(coalescing);
      coalescing = undefined;
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
