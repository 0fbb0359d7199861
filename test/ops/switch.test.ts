// make switch (ops/release/switch.ts, through the CLI as make runs it) against
// a fake `docker compose` that records every call, a fake `docker inspect`
// naming one green replica whose /readyz answers READY, and a stand-in for
// Nginx's /nginx-health that follows the control file as njs does: a switch
// that fails (or is interrupted) after announcing itself to the watcher must
// withdraw the announcement and put the control file back, or a real
// failover to that pool would be reported as "Planned switch" until the
// marker expires. It runs under the release tool's lock, so a switch and a
// release never overlap. The CLI is dist/ops/cli/main.js, built by the unit
// project's globalSetup (test/support/build.ts).
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, lockPath, type LockResult } from '../../ops/release/lock.js';
import { switchServedMs } from '../../ops/release/switch.js';

const CLI = join(import.meta.dirname, '../../dist/ops/cli/main.js');

const CTL = 'exec -T alert_watcher node dist/watcher/operator/ctl.js';
// The replica finder's question: which containers are green's.
const READY_CHECK = 'ps --all -q app_green';
const ANNOUNCE = `${CTL} planned-switch green`;
const CANCEL = `${CTL} planned-switch --cancel`;
// The audit trail's entry (make history), with the reason and who the caller gave.
const RECORD = (outcome: string) =>
  `${CTL} record --action switch --outcome ${outcome} --pool green --from-pool blue --reason manual switch --who alice@host1`;

// Logs its arguments, one call a line; names one container for `ps`.
const FAKE_COMPOSE = `#!/bin/sh
printf '%s\\n' "$*" >>"$FAKE_LOG"
case "$1" in ps) echo c0ffee ;; esac
exit 0
`;
// docker inspect: green's one replica, its direct port the stand-in's.
const FAKE_DOCKER = `#!/bin/sh
echo "1|bluegreen-app_green-1|healthy|172.20.0.5|$FAKE_READY_PORT"
`;

/**
 * Nginx as the switch sees it: /nginx-health's X-Serving-Pool follows the
 * control file `lagMs` after it changes (njs reads it every 100 ms), or
 * never (`stuck`); blue before any file.
 */
interface FakeNginx {
  port: number;
  lagMs: number;
  stuck: boolean;
  /** What the green replica's /readyz answers. */
  ready: number;
  close(): Promise<void>;
}
async function fakeNginx(controlFile: string): Promise<FakeNginx> {
  let serving = 'blue';
  let seen = '';
  let changedAt = 0;
  const state = { lagMs: 0, stuck: false, ready: 200 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(state.ready).end();
    const wanted = existsSync(controlFile) ? readFileSync(controlFile, 'utf8').trim() : '';
    if (wanted !== seen) {
      seen = wanted;
      changedAt = Date.now();
    }
    if (!state.stuck && (wanted === 'blue' || wanted === 'green') && Date.now() - changedAt >= state.lagMs) serving = wanted;
    res.writeHead(200, { 'x-serving-pool': serving }).end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

let dir: string;
let log: string;
let envFile: string;
let control: string;
let nginx: FakeNginx;
let held: LockResult | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switch-'));
  log = join(dir, 'calls.log');
  envFile = join(dir, '.env');
  control = join(dir, 'control', 'serving-pool');
  writeFileSync(join(dir, 'compose'), FAKE_COMPOSE);
  chmodSync(join(dir, 'compose'), 0o755);
  writeFileSync(join(dir, 'docker'), FAKE_DOCKER);
  chmodSync(join(dir, 'docker'), 0o755);
  writeFileSync(envFile, 'ACTIVE_POOL=blue\n');
  nginx = await fakeNginx(control);
});
afterEach(async () => {
  if (held?.ok) held.release();
  held = undefined;
  await nginx.close();
  rmSync(dir, { recursive: true, force: true });
});

const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : []);
const controlFile = () => (existsSync(control) ? readFileSync(control, 'utf8') : undefined);

function switchTo(pool: string, opts: { ready?: number; env?: Record<string, string> } = {}) {
  nginx.ready = opts.ready ?? 200;
  const child = spawn(process.execPath, [CLI, 'switch'], {
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      COMPOSE: join(dir, 'compose'),
      ENV_FILE: envFile,
      ARG_POOL: pool,
      FAKE_LOG: log,
      FAKE_READY_PORT: String(nginx.port),
      AUDIT_WHO: 'alice@host1',
      POOL_CONTROL_DIR: join(dir, 'control'),
      NGINX_PORT: String(nginx.port),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms; calls: ${calls().join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('make switch', () => {
  it('checks every replica, announces, writes the control file, waits for Nginx, records; .env is not touched', async () => {
    nginx.lagMs = 150;
    const { code, stdout } = await switchTo('green').done;
    expect(code).toBe(0);
    expect(calls()).toEqual([READY_CHECK, ANNOUNCE, RECORD('ok')]);
    expect(controlFile()).toBe('green\n');
    expect(statSync(control).mode & 0o777).toBe(0o644);
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=blue\n');
    // It waited for Nginx to follow, and says how long that took.
    const served = stdout.split('\n').map(switchServedMs).find((ms) => ms !== undefined);
    expect(served).toBeGreaterThanOrEqual(150);
    expect(served).toBeLessThan(2_000);
  });

  it('refuses a pool with a replica that is not ready, showing which, before announcing anything', async () => {
    const { code, stderr } = await switchTo('green', { ready: 503 }).done;
    expect(code).toBe(1);
    expect(calls()).toEqual([READY_CHECK]);
    expect(stderr).toMatch(new RegExp(`green +1 +127.0.0.1:${nginx.port} +503`));
    expect(stderr).toContain('app_green is not ready');
    expect(controlFile()).toBeUndefined();
    // FORCE=1 skips the check.
    const forced = await switchTo('green', { ready: 503, env: { ARG_FORCE: '1' } }).done;
    expect(forced.code).toBe(0);
    expect(calls().slice(1)).toEqual([ANNOUNCE, RECORD('ok')]);
  });

  it('refuses while a release holds the lock, naming the lock file, but goes on when that release itself switches', async () => {
    held = acquireLock(lockPath(envFile), 'release');
    if (!held.ok) throw new Error('lock not taken');
    const refused = await switchTo('green').done;
    expect(refused.code).toBe(1);
    expect(calls()).toEqual([]);
    expect(refused.stderr).toMatch(new RegExp(`^switch: a release is already running \\(pid ${process.pid} .*lock ${lockPath(envFile)}\\).*remove ${lockPath(envFile)}\n$`));
    expect(controlFile()).toBeUndefined();
    // A child of the release that switches (a drill's make switch), its token inherited.
    const own = await switchTo('green', { env: { RELEASE_LOCK_TOKEN: held.token } }).done;
    expect(own.code).toBe(0);
    expect(controlFile()).toBe('green\n');
    expect(JSON.parse(readFileSync(lockPath(envFile), 'utf8'))).toMatchObject({ token: held.token });
  });

  it('holds the lock while it switches, so a release waits, and frees it after', async () => {
    nginx.lagMs = 1_000;
    const { done } = switchTo('green');
    await until(() => controlFile() === 'green\n');
    expect(acquireLock(lockPath(envFile), 'release')).toMatchObject({ ok: false, holder: { action: 'switch' } });
    expect((await done).code).toBe(0);
    expect(existsSync(lockPath(envFile))).toBe(false);
  });

  it('puts the pool back and withdraws the announcement when Nginx does not follow, and exits non-zero', async () => {
    nginx.stuck = true;
    const started = Date.now();
    const { code, stderr } = await switchTo('green').done;
    expect(code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(calls().slice(1)).toEqual([ANNOUNCE, CANCEL, RECORD('failed')]);
    expect(stderr).toContain('Nginx still serves from blue 5 s after');
    expect(stderr).toContain('withdrawing the planned-switch marker');
    expect(controlFile()).toBe('blue\n');
  });

  it('puts the pool back and withdraws the announcement when interrupted while Nginx follows', async () => {
    nginx.lagMs = 3_000;
    const { child, done } = switchTo('green');
    await until(() => controlFile() === 'green\n');
    child.kill('SIGTERM');
    const { code } = await done;
    expect(code).toBe(143);
    expect(calls().slice(1)).toEqual([ANNOUNCE, CANCEL, RECORD('failed')]);
    expect(controlFile()).toBe('blue\n');
  });

  it('refuses when Nginx does not answer, before telling anyone anything', async () => {
    await nginx.close();
    // Forced: the stand-in that is down is green's /readyz too.
    const { code, stderr } = await switchTo('green', { env: { ARG_FORCE: '1' } }).done;
    nginx = await fakeNginx(control);
    expect(code).toBe(1);
    expect(stderr).toContain('Nginx does not answer');
    expect(calls()).toEqual([]);
    expect(controlFile()).toBeUndefined();
  });

  it('refuses a bad pool before telling anyone anything', async () => {
    const { code } = await switchTo('purple').done;
    expect(code).toBe(2);
    expect(calls()).toEqual([]);
  });
});
