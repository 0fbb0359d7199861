// A minimal EventSource for tests: reads one /events stream over plain HTTP
// and hands out its events (and heartbeat comments) in order.
import { get, type IncomingHttpHeaders } from 'node:http';

export interface SseEvent {
  /** `event:` name, `retry` for a retry field, `comment` for a `:` line. */
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of an answer that is not a stream (not 200). */
  body(): string;
  /** The next event (of `name`, skipping others), or a rejection after `timeoutMs`. */
  next(name?: string, timeoutMs?: number): Promise<SseEvent>;
  /** Events received and not yet taken by next(). */
  pending(): SseEvent[];
  /** Resolves when the server ended or broke the stream. */
  ended: Promise<void>;
  close(): void;
}

export function openStream(port: number, path = '/events'): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const queue: SseEvent[] = [];
      let waiter: (() => void) | undefined;
      let text = '';
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) raw += chunk;
        text += chunk;
        let cut: number;
        while ((cut = text.indexOf('\n\n')) !== -1) {
          const block = text.slice(0, cut);
          text = text.slice(cut + 2);
          queue.push(parse(block));
        }
        waiter?.();
      });
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: () => raw,
        pending: () => queue,
        ended,
        close: () => req.destroy(),
        async next(name, timeoutMs = 2000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const i = queue.findIndex((e) => name === undefined || e.event === name);
            if (i !== -1) return queue.splice(0, i + 1).at(-1)!;
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no ${name ?? 'event'} within ${timeoutMs} ms`);
            await new Promise<void>((wake) => {
              const timer = setTimeout(wake, left);
              waiter = () => {
                clearTimeout(timer);
                wake();
              };
            });
          }
        },
      });
    });
    req.on('error', reject);
  });
}

function parse(block: string): SseEvent {
  const lines = block.split('\n');
  if (lines.every((line) => line.startsWith(':'))) return { event: 'comment', data: block };
  const field = (name: string) =>
    lines.filter((line) => line.startsWith(`${name}: `)).map((line) => line.slice(name.length + 2));
  const retry = field('retry');
  if (retry.length > 0) return { event: 'retry', data: retry.join('\n') };
  return { event: field('event')[0] ?? 'message', data: field('data').join('\n') };
}
