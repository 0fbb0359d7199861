// The Nginx image with a bad setting: the container must stop with a clear
// message before it serves anything; and its control volume at run time. Run with `docker run` on the image the
// stack uses; the app pools' names point at 127.0.0.1, since a valid config
// needs them to resolve (the control case below proves that it then serves).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { ROOT, docker, sleep } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e nginx bad config');

const IMAGE = `bluegreen-nginx:${process.env.E2E_IMAGE_TAG ?? 'local'}`;
const NAME = `bg-e2e-nginx-config-${process.pid}`;

interface Run {
  code: number;
  stderr: string;
  /** Whether anything answered HTTP on the published port while it ran. */
  served: boolean;
  /** The config Nginx rendered and serves with, read once it served. */
  conf?: string;
}

/**
 * Starts the image with `env`, probing its published port over HTTP until the
 * container exits or `maxMs` passes (then it is stopped). Docker picks the host
 * port, so nothing else can hold it. docker-proxy accepts TCP connections even
 * with nothing behind them: only an HTTP answer counts.
 */
async function runNginx(env: Record<string, string>, maxMs: number): Promise<Run> {
  const args = ['run', '--name', NAME, '-p', '127.0.0.1::80'];
  for (const pool of ['app_blue', 'app_green']) args.push('--add-host', `${pool}:127.0.0.1`);
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  const child = promisify(execFile)('docker', [...args, IMAGE], { cwd: ROOT, timeout: maxMs + 30_000 }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' }),
  );
  let exited = false;
  void child.then(() => (exited = true));
  let served = false;
  let address = '';
  const deadline = Date.now() + maxMs;
  while (!exited && !served && Date.now() < deadline) {
    address ||= (await docker('port', NAME, '80/tcp').catch(() => '')).trim().split('\n')[0] ?? '';
    if (address) {
      served = await fetch(`http://${address}/nginx-health`, { signal: AbortSignal.timeout(1_000) }).then(
        () => true,
        () => false,
      );
    }
    await sleep(20);
  }
  const conf = served ? await docker('exec', NAME, 'cat', '/etc/nginx/conf.d/default.conf').catch(() => undefined) : undefined;
  if (!exited) await docker('stop', '-t', '2', NAME);
  const result = await child;
  await docker('rm', '-f', NAME).catch(() => undefined);
  return { ...result, served, ...(conf === undefined ? {} : { conf }) };
}

describe.skipIf(!enabled)('Nginx refuses a bad configuration before serving', () => {
  beforeAll(async () => {
    await docker('build', '-q', '-t', IMAGE, 'nginx');
  });

  afterAll(async () => {
    await docker('rm', '-f', NAME).catch(() => undefined);
  });

  it('serves with a valid configuration (control: the probe sees a serving container)', async () => {
    const run = await runNginx({ ACTIVE_POOL: 'green', APP_PORT: '3000' }, 20_000);
    expect(run.served, run.stderr).toBe(true);
  });

  it('renders the timeout settings into the config it serves with, and checks the retry bound against the replicas', async () => {
    const run = await runNginx({ NGINX_READ_TIMEOUT_MS: '2500', NGINX_RETRY_TIMEOUT_MS: '6000' }, 20_000);
    expect(run.served, run.stderr).toBe(true);
    const conf = run.conf ?? '';
    expect(conf).toMatch(/proxy_read_timeout 2500ms;/);
    expect(conf).toMatch(/proxy_next_upstream_timeout 6000ms;/);
    expect(conf).toMatch(/proxy_connect_timeout 500ms;/);
    // Three blue replicas that may each hang 0.8 s leave no room for the backup within 2.4 s.
    const refused = await runNginx({ BLUE_REPLICAS: '3', NGINX_RETRY_TIMEOUT_MS: '2400' }, 20_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/NGINX_RETRY_TIMEOUT_MS must exceed 3 replica\(s\) x 800 ms .* = 2400 ms/);
  });

  it.each([
    ['ACTIVE_POOL', 'red', /ACTIVE_POOL must be 'blue' or 'green', got 'red'/],
    ['ACTIVE_POOL', 'Blue', /ACTIVE_POOL must be 'blue' or 'green', got 'Blue'/],
    ['ACTIVE_POOL', 'blue ', /ACTIVE_POOL must be 'blue' or 'green', got 'blue '/],
    ['ACTIVE_POOL', 'green;', /ACTIVE_POOL must be 'blue' or 'green', got 'green;'/],
    ['APP_PORT', '0', /APP_PORT must be a port number from 1 to 65535, got '0'/],
    ['APP_PORT', '65536', /APP_PORT must be a port number from 1 to 65535, got '65536'/],
    ['APP_PORT', 'http', /APP_PORT must be a port number from 1 to 65535, got 'http'/],
    ['APP_PORT', '3000; server evil:80', /APP_PORT must be a port number from 1 to 65535, got '3000; server evil:80'/],
    ['ACCESS_LOG_MAX_MB', '0', /ACCESS_LOG_MAX_MB must be a whole number of MB from 1 to 999999, got '0'/],
    ['ACCESS_LOG_MAX_MB', '1g', /ACCESS_LOG_MAX_MB must be a whole number of MB from 1 to 999999, got '1g'/],
    ['ACCESS_LOG_KEEP', '0', /ACCESS_LOG_KEEP must be a whole number of rotated files from 1 to 99, got '0'/],
    ['ACCESS_LOG_KEEP', '-1', /ACCESS_LOG_KEEP must be a whole number of rotated files from 1 to 99, got '-1'/],
    ['NGINX_READ_TIMEOUT_MS', '2s', /NGINX_READ_TIMEOUT_MS must be a whole number of milliseconds from 1 to 999999, got '2s'/],
    ['NGINX_CONNECT_TIMEOUT_MS', '0', /NGINX_CONNECT_TIMEOUT_MS must be a whole number of milliseconds from 1 to 999999, got '0'/],
    ['NGINX_RETRY_TIMEOUT_MS', '800', /NGINX_RETRY_TIMEOUT_MS must exceed 1 replica\(s\) x 800 ms .* = 800 ms, .* got '800'/],
  ])('%s=%j: exits 1 with a clear message, never serves', async (name, value, message) => {
    const run = await runNginx({ [name]: value }, 20_000);
    expect(run.code).toBe(1);
    expect(run.served).toBe(false);
    const errors = run.stderr.split('\n').filter((line) => /ERROR/.test(line));
    expect(errors, run.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(errors[0]).toMatch(/refusing to start$/);
  });
});

// The serving pool at run time: the control volume's file, read by njs every
// 100 ms. A value that is not a pool is refused with one log line, however
// long it stays, and the pool in use is kept; the start takes the file too.
describe.skipIf(!enabled)('Nginx follows the control volume at run time, and refuses a bad value', () => {
  const RUN_NAME = `${NAME}-control`;
  let dir: string;
  let origin: string;

  const write = (value: string) => {
    writeFileSync(path.join(dir, '.tmp'), `${value}\n`);
    chmodSync(path.join(dir, '.tmp'), 0o644);
    renameSync(path.join(dir, '.tmp'), path.join(dir, 'serving-pool'));
  };
  const serving = async () =>
    (await fetch(`${origin}/nginx-health`, { signal: AbortSignal.timeout(1_000) })).headers.get('x-serving-pool');
  const published = async () => (await docker('exec', RUN_NAME, 'cat', '/var/log/bluegreen/active-pool')).trim();
  const logs = async () => {
    const r = await promisify(execFile)('docker', ['logs', RUN_NAME]);
    return `${r.stdout}${r.stderr}`;
  };
  const start = async () => {
    await docker('run', '-d', '--name', RUN_NAME, '-p', '127.0.0.1::80', '--cap-drop', 'ALL',
      ...['CHOWN', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'].flatMap((c) => ['--cap-add', c]),
      '--add-host', 'app_blue:127.0.0.1', '--add-host', 'app_green:127.0.0.1',
      '-e', 'ACTIVE_POOL=blue', '-v', `${dir}:/etc/bluegreen:ro`, IMAGE);
    origin = `http://${(await docker('port', RUN_NAME, '80/tcp')).trim().split('\n')[0]}`;
    for (const deadline = Date.now() + 20_000; (await serving().catch(() => null)) === null; await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`${RUN_NAME} did not answer within 20 s:\n${await logs()}`);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bg-control-'));
    chmodSync(dir, 0o755);
    await docker('build', '-q', '-t', IMAGE, 'nginx');
    await start();
  });

  afterAll(async () => {
    await docker('rm', '-f', RUN_NAME).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves ACTIVE_POOL with no file, then each pool written, within a second, and publishes it', async () => {
    expect(await serving()).toBe('blue');
    expect(await published()).toBe('blue');
    for (const pool of ['green', 'blue', 'green']) {
      const writtenAt = Date.now();
      write(pool);
      await expect.poll(serving, { timeout: 1_000, interval: 10 }).toBe(pool);
      console.log(`[nginx-control] ${pool} served ${Date.now() - writtenAt} ms after the write`);
      expect(await published()).toBe(pool);
    }
    expect(await logs()).toMatch(/serving-pool: now serving from app_green \(was blue\)/);
  });

  it('refuses a bad value with one log line, keeps the pool, and takes the next good one', async () => {
    write('purple');
    await sleep(1_500);
    expect(await serving()).toBe('green');
    expect(await published()).toBe('green');
    const refused = (await logs()).split('\n').filter((l) => l.includes('refusing "purple"'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/\[warn\].*still serving from green/);
    write('blue');
    await expect.poll(serving, { timeout: 1_000, interval: 10 }).toBe('blue');
  });

  it('starts from the file after a restart, whatever ACTIVE_POOL says', async () => {
    write('green');
    await expect.poll(serving, { timeout: 1_000, interval: 10 }).toBe('green');
    await docker('rm', '-f', RUN_NAME);
    await start();
    expect(await serving()).toBe('green');
    expect(await logs()).toContain('active-pool: primary green (from /etc/bluegreen/serving-pool)');
  });
});
