// GET /events: the status page's Server-Sent Events. Every stream gets
// `status` and `series` at once, then `status` on each change (bursts
// coalesced) and `series` as each step closes. The watcher must not be hurt
// by its audience: streams are few, a client that does not read is cut off
// before its backlog grows, and a push never throws into the pipeline. Nor
// may one client shut out the others: an address holds at most a share of the
// streams, and a new stream is never refused for lack of a slot but replaces
// an old one, so a person opening the page always gets a live one.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../common/logger.js';
import { reply, type Handler } from '../operator/server.js';
import type { PageSeries, PageStatus } from './model.js';

export const MAX_STREAMS = 16;
/**
 * Streams one remote address may hold; its next one replaces its oldest.
 * Half the slots, not fewer: behind Docker's port publish (docker-proxy) or a
 * kubectl port-forward every browser on the host comes from one address.
 */
export const MAX_STREAMS_PER_CLIENT = 8;
/** Unread bytes one stream may hold; a page reads each event at once, so far more than one `series` event means it stopped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** A write to a connection whose peer vanished fails within a few of these. */
export const HEARTBEAT_MS = 15_000;
/** At most one `status` push per this, and always one after the last change. */
export const COALESCE_MS = 100;
/** How long EventSource waits before reconnecting. */
const RETRY_MS = 1000;
// A replaced page that reconnected at once would replace another, and so on
// round the house: this spaces the turns out.
export const REPLACED_RETRY_MS = 30_000;
/** A replaced stream whose client does not read its end within this is cut: its connection must not outlive its slot. */
export const REPLACED_DRAIN_MS = 5_000;

export interface EventHubOptions {
  status: () => PageStatus;
  series: () => PageSeries;
  logger: Logger;
  /** Concurrent event streams; past them a new stream replaces an old one. */
  maxStreams?: number;
  /** Concurrent event streams from one remote address. */
  maxStreamsPerClient?: number;
  /** Unread bytes after which a stream is cut off. */
  maxBufferedBytes?: number;
  heartbeatMs?: number;
  /** How long a replaced stream's client has to read its end. */
  replacedDrainMs?: number;
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
  const maxPerClient = opts.maxStreamsPerClient ?? MAX_STREAMS_PER_CLIENT;
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const drainMs = opts.replacedDrainMs ?? REPLACED_DRAIN_MS;
  const log = opts.logger.child({ component: 'page' });
  /** Each stream's remote address, oldest stream first (a Map keeps insertion order). */
  const clients = new Map<ServerResponse, string>();
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
    for (const res of [...clients.keys()]) send(res, text);
  }

  function coalesceEnded(): void {
    coalescing = undefined;
    if (!pending) return;
    pending = false;
    broadcast('status', opts.status);
    coalescing = setTimeout(coalesceEnded, COALESCE_MS);
  }

  const heartbeat = setInterval(() => {
    for (const res of [...clients.keys()]) send(res, ': heartbeat\n\n');
  }, opts.heartbeatMs ?? HEARTBEAT_MS);

  /**
   * The stream a new one from `address` replaces: the address's own oldest
   * once it holds its share, else, with every slot taken, the oldest of the
   * address holding the most, so a flood from one address costs it first.
   */
  function replacedBy(address: string): ServerResponse | undefined {
    const held = new Map<string, number>();
    for (const from of clients.values()) held.set(from, (held.get(from) ?? 0) + 1);
    const most = Math.max(0, ...held.values());
    const victim =
      (held.get(address) ?? 0) >= maxPerClient
        ? (from: string) => from === address
        : clients.size >= maxStreams
          ? (from: string) => held.get(from) === most
          : undefined;
    if (victim === undefined) return undefined;
    for (const [res, from] of clients) if (victim(from)) return res;
    return undefined;
  }

  function replace(res: ServerResponse, by: string): void {
    // Debug only: a client reconnecting in a loop would otherwise write a line per attempt.
    log.debug({ address: clients.get(res), by }, 'status page stream replaced by a newer one');
    clients.delete(res);
    res.end(`retry: ${REPLACED_RETRY_MS}\n\n`);
    // An idle socket, not a deadline: a client that reads has its end at once,
    // and Node then closes the connection on keepAliveTimeout.
    res.socket?.setTimeout(drainMs, () => res.destroy());
  }

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
    // Built before the answer starts: a snapshot that throws is the server's 500 and replaces nothing.
    const first = `retry: ${RETRY_MS}\n\n${frame('status', opts.status())}${frame('series', opts.series())}`;
    const address = req.socket.remoteAddress ?? 'unknown';
    const old = replacedBy(address);
    if (old !== undefined) replace(old, address);
    // The server's requestTimeout ends once the request is received; a GET
    // has no body, so an open stream is never timed out by it (serverLimits.test.ts).
    res.writeHead(200, headers);
    res.on('close', () => clients.delete(res));
    clients.set(res, address);
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
      for (const res of clients.keys()) res.end();
      clients.clear();
    },
  };
}
