import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpCall, MAX_ANSWER_BYTES } from '../../../watcher/notify/http.js';
import { classifyAnswer, parseRetryAfter, withRetries, type Verdict } from '../../../watcher/notify/retry.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** A receiver that answers 500 with a body of `totalBytes`, written with backpressure; resolves its URL and how much it wrote. */
async function hostile(totalBytes: number): Promise<{ url: string; written: () => number; closed: Promise<void> }> {
  let written = 0;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  server = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.on('close', markClosed);
    const pump = () => {
      while (written < totalBytes && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, written: () => written, closed };
}

describe('httpCall', () => {
  it('reads at most a few KiB of a 200 MiB error body and hangs up on the rest', async () => {
    const receiver = await hostile(200 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const answer = await httpCall(receiver.url, { method: 'POST', body: '{}', timeoutMs: 10_000 });
    await receiver.closed;
    expect(answer.status).toBe(500);
    expect(answer.cut).toBe(true);
    expect(Buffer.byteLength(answer.body)).toBe(MAX_ANSWER_BYTES);
    // What the socket buffers held before the hang-up, not the 200 MiB.
    expect(receiver.written()).toBeLessThan(32 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('reads a short answer whole', async () => {
    server = createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const answer = await httpCall(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'GET', timeoutMs: 2000 });
    expect(answer).toMatchObject({ status: 200, body: '{"ok":true}', cut: false });
  });
});

describe('classifyAnswer', () => {
  const opts = { maxRetryAfterMs: 60_000, now: () => Date.parse('2026-12-06T12:00:00Z') };
  const answer = (status: number, headers: Record<string, string> = {}, body = '') => ({ status, headers, body, cut: false });
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'permanent'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
  ])('HTTP %i is %s', (status, outcome) => {
    expect(classifyAnswer(answer(status), opts).outcome).toBe(outcome);
  });

  it('quotes a bounded, scrubbed sample of the body', () => {
    const verdict = classifyAnswer(answer(401, {}, `bad token for /secret/path ${'y'.repeat(1000)}`), {
      ...opts,
      scrub: (t) => t.replaceAll('/secret/path', '/[redacted]'),
    });
    expect(verdict).toMatchObject({ outcome: 'permanent', failure: 'http_4xx' });
    const reason = (verdict as Extract<Verdict, { reason: string }>).reason;
    expect(reason).toContain('/[redacted]');
    expect(reason).not.toContain('/secret/path');
    expect(reason.length).toBeLessThan(220);
  });

  it('reads Retry-After as seconds or as an HTTP date, capped', () => {
    const now = opts.now();
    expect(parseRetryAfter('7', 60_000, now)).toBe(7000);
    expect(parseRetryAfter(new Date(now + 12_000).toUTCString(), 60_000, now)).toBe(12_000);
    expect(parseRetryAfter(new Date(now - 12_000).toUTCString(), 60_000, now)).toBe(0);
    expect(parseRetryAfter('3600', 60_000, now)).toBe(60_000);
    expect(parseRetryAfter('soon', 60_000, now)).toBeUndefined();
    expect(classifyAnswer(answer(429, { 'retry-after': '3' }), opts)).toMatchObject({ outcome: 'retry', failure: 'rate_limited', retryAfterMs: 3000 });
  });
});

describe('withRetries', () => {
  it('gives up on a monotonic clock: a wall clock stepped forward does not cut the retries short', async () => {
    let monotonic = 0;
    const verdicts: Verdict[] = [...Array<Verdict>(5).fill({ outcome: 'retry', reason: 'HTTP 503', failure: 'http_5xx' }), { outcome: 'delivered' }];
    const result = await withRetries(async () => verdicts.shift()!, {
      baseMs: 1000,
      maxMs: 10_000,
      random: () => 1,
      retryForMs: 60_000,
      monotonic: () => monotonic,
      sleep: async (ms) => void (monotonic += ms),
    });
    expect(result).toEqual({ verdict: { outcome: 'delivered' }, attempts: 6, gaveUp: false });
  });

  it('stops at a permanent verdict without waiting', async () => {
    const waits: number[] = [];
    const result = await withRetries(async () => ({ outcome: 'permanent', reason: 'HTTP 403', failure: 'http_4xx' }), {
      baseMs: 1000,
      maxMs: 10_000,
      random: () => 1,
      retryForMs: 60_000,
      monotonic: () => 0,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(result.attempts).toBe(1);
    expect(waits).toEqual([]);
  });
});
