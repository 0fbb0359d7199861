// The shipped entry point, run as a real process (compiled by test/support/build.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_SECRETS, appSchema } from '../../app/config.js';
import { freePort } from '../../testkit/freePort.js';

const MAIN = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  // Only the env given here (no inherited APP_*), and a cwd without a .env file.
  const child = spawn(process.execPath, [MAIN], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const logLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('node dist/app/main.js', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s answers a request held by timeout chaos and exits 0',
    async (signal) => {
      const port = await freePort();
      const app = run({ PORT: String(port), APP_POOL: 'green', CHAOS_HOLD_MS: '60000', SHUTDOWN_TIMEOUT_MS: '3000' });
      await expect.poll(() => logLines(app.stdout()).some((l) => l.msg === 'listening'), { timeout: 5000 }).toBe(true);

      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/chaos/start?mode=timeout`, { method: 'POST' })).status).toBe(200);
      const held = fetch(`${base}/version`);
      // Give the request time to reach the app; the shutdown log below proves it was held.
      await new Promise((r) => setTimeout(r, 300));

      const t0 = performance.now();
      app.child.kill(signal);
      const res = await held;
      expect(res.status).toBe(503);
      expect(res.headers.get('x-app-pool')).toBe('green');
      expect(((await res.json()) as { error: string }).error).toMatch(/shutting down/);
      expect(await app.exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(3000);

      const logs = logLines(app.stdout());
      expect(logs.find((l) => l.msg === 'shutdown started')).toMatchObject({ held: 1 });
      expect(logs.find((l) => l.msg === 'shutdown complete')).toMatchObject({ forced: false });
    },
  );

});

/** Resolves true if anything accepts a connection on `port` before `exited` settles. */
async function listenedBefore(port: number, exited: Promise<unknown>): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

// Every variable of the schema, with values an operator could plausibly mistype.
const BAD_VALUES: Record<string, string[]> = {
  APP_POOL: ['red', 'Blue'],
  RELEASE_ID: ['release-\u00e9', 'tab\tinside'],
  PORT: ['0', '65536', 'http', '80.5'],
  CHAOS_HOLD_MS: ['0', '600001', 'soon'],
  SHUTDOWN_TIMEOUT_MS: ['-1', '5s'],
  LOG_LEVEL: ['loud', 'INFO'],
  CHAOS_TOKEN: ['too-short', 'has spaces in the middle of it', 'user:password-0123456789'],
};

describe('bad configuration', () => {
  it('has bad values for every variable of the schema', () => {
    expect(Object.keys(BAD_VALUES).sort()).toEqual(Object.keys(appSchema.shape).sort());
  });

  const cases = Object.entries(BAD_VALUES).flatMap(([name, values]) => values.map((value) => [name, value] as const));
  it.each(cases)('%s=%j: exits 1 with one config error line, never listens', async (name, value) => {
    const port = await freePort();
    const app = run({ PORT: String(port), [name]: value });
    const listened = listenedBefore(port, app.exited);
    expect(await app.exited).toBe(1);
    expect(await listened).toBe(false);
    expect(app.stdout()).toBe('');
    const lines = app.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^app: config error: ${name}: \\S`));
    if (APP_SECRETS.includes(name as (typeof APP_SECRETS)[number])) {
      expect(lines[0]).toContain('(got a value, hidden)');
      expect(app.stderr()).not.toContain(value);
    } else {
      expect(lines[0]).toContain(`(got ${JSON.stringify(value.trim())})`);
    }
  });
});
