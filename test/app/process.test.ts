// The shipped entry point, run as a real process (compiled by test/support/build.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

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

  it('exits 1 on a bad APP_POOL, naming it on stderr', async () => {
    const app = run({ APP_POOL: 'red', PORT: String(await freePort()) });
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toMatch(/^app: config error: APP_POOL: .*blue.*green.*\(got "red"\)$/m);
    expect(app.stdout()).not.toContain('listening');
  });
});
