// make traffic (scripts/traffic.sh) against a stand-in for Nginx on
// 127.0.0.1 that answers as blue, then as green, then fails: a line a second
// with each pool's count and the failures, and the totals at the end.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/traffic.sh');
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

function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('make traffic', () => {
  it('counts what each pool answered, and the failures, a line a second, then the totals', async () => {
    const { code, out } = await run('4', '3', url);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(`traffic: 4 requests/s to ${url} for 3 s`);
    expect(lines.slice(1, 4).map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, ''))).toEqual([
      'blue 4  green 0  failed 0',
      'blue 0  green 4  failed 0',
      'blue 0  green 0  failed 4',
    ]);
    expect(lines[4]).toBe('traffic: 3 s: blue 4, green 4, failed 4');
  }, 20_000);

  it('refuses a bad rate or duration with one line', async () => {
    expect(await run('0', '1', url)).toMatchObject({ code: 2, err: "traffic: RPS must be a whole number of requests a second from 1 to 200 (got '0')\n" });
    expect(await run('5', 'soon', url)).toMatchObject({ code: 2, err: "traffic: DURATION must be a whole number of seconds, 0 for until Ctrl-C (got 'soon')\n" });
  });
});
