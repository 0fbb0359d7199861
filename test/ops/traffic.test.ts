// make traffic (ops/cli/traffic.ts) against a stand-in for Nginx on
// 127.0.0.1 that answers as blue, then as green, then fails: a line a second
// with each pool's count and the failures, and the totals at the end.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trafficRequest } from '../../ops/cli/args.js';
import { classify, traffic } from '../../ops/cli/traffic.js';

let served = 0;
// Blue for the first 4 requests, green for the next 4, then 500s.
const server = createServer((_req, res) => {
  const n = served++;
  if (n < 4) res.writeHead(200, { 'x-app-pool': 'blue' }).end('ok');
  else if (n < 8) res.writeHead(200, { 'x-app-pool': 'green' }).end('ok');
  else res.writeHead(500).end();
});
let url = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/version`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('make traffic', () => {
  it('counts what each pool answered, and the failures, a line a second, then the totals', async () => {
    const lines: string[] = [];
    const code = await traffic(url, 4, 3, (l) => lines.push(l));
    expect(code).toBe(0);
    expect(lines[0]).toBe(`traffic: 4 requests/s to ${url} for 3 s`);
    expect(lines.slice(1, 4).map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, ''))).toEqual([
      'blue 4  green 0  failed 0',
      'blue 0  green 4  failed 0',
      'blue 0  green 0  failed 4',
    ]);
    expect(lines[4]).toBe('traffic: 3 s: blue 4, green 4, failed 4');
  }, 20_000);

  it('counts a 200 without a pool, and no answer, as failed', () => {
    expect(classify(200, 'green')).toBe('green');
    expect(classify(200, null)).toBe('failed');
    expect(classify(502, 'blue')).toBe('failed');
    expect(classify(undefined, undefined)).toBe('failed');
  });

  it('refuses a bad rate or duration with one line', () => {
    expect(() => trafficRequest({ RPS: '0', DURATION: '1' })).toThrow("traffic: RPS must be a whole number of requests a second from 1 to 200 (got '0')");
    expect(() => trafficRequest({ RPS: '5', DURATION: 'soon' })).toThrow("traffic: DURATION must be a whole number of seconds, 0 for until Ctrl-C (got 'soon')");
    expect(trafficRequest({})).toEqual({ rps: 5, seconds: 0 });
  });
});
