// make screenshot's flow against a stand-in: one local server is both Nginx
// (/version, counting requests) and the watcher's status page, whose <body>
// data attributes follow what the fault control did, as the real page's do.
// A real Chromium shoots it.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statusPageScreenshot } from '../../ops/cli/screenshot.js';
import { Refusal } from '../../ops/release/refusal.js';
import { loadStackSettings, type StackSettings } from '../../ops/stack/index.js';
import { requireChromiumOrSkip } from '../e2e/support/browser.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
// The page reads its state every 50 ms, as the real one is pushed each change.
const PAGE = `<!doctype html><body data-serving="" data-incidents=""><script>
setInterval(async () => { const s = await (await fetch('/state')).json(); document.body.dataset.serving = s.serving; document.body.dataset.incidents = String(s.incidents); }, 50);
</script><div data-testid="history-row">chaos_start</div></body>`;

let dir: string;
let server: Server;
let state: { serving: string; incidents: number };
let versions: number;
let settings: StackSettings;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'screenshot-'));
  state = { serving: 'blue', incidents: 0 };
  versions = 0;
  server = createServer((req, res) => {
    if (req.url === '/version') versions++;
    if (req.url === '/state') return void res.end(JSON.stringify(state));
    res.setHeader('content-type', req.url === '/' ? 'text/html' : 'application/json');
    res.end(req.url === '/' ? PAGE : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as AddressInfo).port);
  const env = path.join(dir, '.env');
  writeFileSync(env, '');
  const loaded = loadStackSettings({ ENV_FILE: env }, { NGINX_PORT: port, WATCHER_HOST_PORT: port, POOL_CONTROL_DIR: dir, ALERT_COOLDOWN_SEC: '0', RECOVERY_HOLD_SEC: '1' });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  settings = loaded.config;
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!requireChromiumOrSkip('make screenshot'))('make screenshot', () => {
  it('shoots the page during the failover under traffic, then stops chaos and waits for the all-clear', async () => {
    const calls: string[] = [];
    const file = path.join(dir, 'page.png');
    const lines: string[] = [];
    const code = await statusPageScreenshot(
      settings,
      {
        start: async (pool) => {
          calls.push(`start ${pool}`);
          state = { serving: 'green', incidents: 1 };
        },
        stop: async () => {
          calls.push('stop');
          expect(existsSync(file)).toBe(true);
          state = { serving: 'blue', incidents: 1 };
          // The all-clear comes a little later, as after the hold.
          setTimeout(() => (state = { serving: 'blue', incidents: 0 }), 500);
        },
      },
      { file, beforeMs: 200, duringMs: 200, log: (line) => lines.push(line) },
    );
    expect(code).toBe(0);
    expect(calls).toEqual(['start blue', 'stop']);
    expect(readFileSync(file).subarray(0, 4)).toEqual(PNG_MAGIC);
    expect(versions).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatch(/^screenshot: nothing open after \d+ s$/);
  }, 30_000);

  it('refuses when the page never shows the failover, and still stops chaos', async () => {
    const calls: string[] = [];
    const file = path.join(dir, 'page.png');
    const run = statusPageScreenshot(
      settings,
      { start: async (pool) => void calls.push(`start ${pool}`), stop: async () => void calls.push('stop') },
      { file, beforeMs: 0, duringMs: 0, shownWithinMs: 1_000, log: () => undefined },
    );
    await expect(run).rejects.toThrow(Refusal);
    await expect(run).rejects.toThrow(/^no failover on the page: page never showed/);
    expect(calls).toEqual(['start blue', 'stop']);
    expect(existsSync(file)).toBe(false);
  }, 30_000);
});
