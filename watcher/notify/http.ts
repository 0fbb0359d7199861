// The one HTTP helper every integration posts through (Slack, Alertmanager,
// the heartbeat): a timeout on the whole exchange, and a bounded read of the
// answer. A receiver is not trusted to be small: a 500 with a 200 MiB body,
// read whole and then cut, once raised the watcher's memory by 2.3 GiB within
// one timeout. Only the first few KiB are read; the rest is discarded as the
// connection closes.
import { request, type Dispatcher } from 'undici';

/** How much of any answer is read: enough for Slack's `ok`/`error`, Alertmanager's JSON error, an id. */
export const MAX_ANSWER_BYTES = 4096;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body's first `maxBodyBytes` bytes, as UTF-8 (a cut may split a character). */
  body: string;
  /** The body was longer than what was read. */
  cut: boolean;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** Bounds the exchange end to end: connect, headers and the (bounded) body. */
  timeoutMs: number;
  dispatcher?: Dispatcher;
  /** Cuts the exchange short, e.g. at shutdown. */
  signal?: AbortSignal;
  maxBodyBytes?: number;
}

/** One exchange. Rejects on no answer (refused, reset, timeout); any status resolves. */
export async function httpCall(url: URL | string, call: HttpCall): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal === undefined ? timeout : AbortSignal.any([timeout, call.signal]);
  const res = await request(url, {
    method: call.method,
    ...(call.headers === undefined ? {} : { headers: call.headers }),
    ...(call.body === undefined ? {} : { body: call.body }),
    ...(call.dispatcher === undefined ? {} : { dispatcher: call.dispatcher }),
    signal,
  });
  const limit = call.maxBodyBytes ?? MAX_ANSWER_BYTES;
  const chunks: Buffer[] = [];
  let read = 0;
  let cut = false;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const room = limit - read;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        read = limit;
        cut = true;
        break;
      }
      chunks.push(chunk);
      read += chunk.length;
    }
  } finally {
    // Breaking out of the loop leaves the rest unread: destroying the stream closes the socket instead of draining it.
    if (cut) res.body.destroy();
  }
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks, read).toString('utf8'), cut };
}

/** An error's text for one log line: name, message, the cause's message and the errno code. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return `${err.name}: ${err.message}${cause}${code && !err.message.includes(code) && !cause.includes(code) ? ` [${code}]` : ''}`;
}

/** AbortSignal.timeout's TimeoutError, or undici's connect, headers and body timeouts. */
export function isTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  return err.name === 'TimeoutError' || code.includes('TIMEOUT');
}
