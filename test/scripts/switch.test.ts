// scripts/switch.sh against a fake `docker compose` that records every call:
// a switch that fails (or is interrupted) after announcing itself to the
// watcher must withdraw the announcement, or a real failover to that pool
// would be reported as "Planned switch" until the marker expires. It runs
// under the release tool's lock, so a switch and a release never overlap.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, lockPath, type LockResult } from '../../ops/release/lock.js';

const CTL = 'exec -T alert_watcher node dist/watcher/operator/ctl.js';
const READY_CHECK = /^exec -T nginx sh -c .*\/readyz.* sh app_green$/;
const ANNOUNCE = `${CTL} planned-switch green`;
const SWITCH = 'exec -T nginx switch-pool green';
const CANCEL = `${CTL} planned-switch --cancel`;
// The audit trail's entry (make history), with the reason and who the caller gave.
const RECORD = (outcome: string) =>
  `${CTL} record --action switch --outcome ${outcome} --pool green --from-pool blue --reason rollback: bad release --who alice@host1`;

// Logs its arguments, one call a line; `nginx switch-pool` waits SWITCH_SLEEP
// seconds, then exits SWITCH_EXIT.
const FAKE_COMPOSE = `#!/bin/sh
printf '%s\\n' "$*" >>"$FAKE_LOG"
case "$*" in
  *"nginx switch-pool"*) sleep "\${SWITCH_SLEEP:-0}"; exit "\${SWITCH_EXIT:-0}" ;;
esac
exit 0
`;

// switch.sh runs the release tool's dist/ops/release/shellTool.js beside
// itself: a copy of the script in a tree of its own, with that directory
// transpiled (no type check: tsc covers that).
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'switch-root-'));
  mkdirSync(join(root, 'scripts'));
  copyFileSync('scripts/switch.sh', join(root, 'scripts/switch.sh'));
  chmodSync(join(root, 'scripts/switch.sh'), 0o755);
  const out = join(root, 'dist/ops/release');
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync('ops/release').filter((n) => n.endsWith('.ts'))) {
    const js = ts.transpileModule(readFileSync(join('ops/release', name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(out, name.replace(/\.ts$/, '.js')), js);
  }
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dir: string;
let log: string;
let envFile: string;
let held: LockResult | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switch-'));
  log = join(dir, 'calls.log');
  envFile = join(dir, '.env');
  writeFileSync(join(dir, 'compose'), FAKE_COMPOSE);
  chmodSync(join(dir, 'compose'), 0o755);
  writeFileSync(envFile, 'ACTIVE_POOL=blue\n');
});
afterEach(() => {
  if (held?.ok) held.release();
  held = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : []);

function switchTo(pool: string, fake: { exit?: number; sleepSec?: number; env?: Record<string, string> } = {}) {
  const child = spawn(join(root, 'scripts/switch.sh'), [pool], {
    env: {
      ...fake.env,
      PATH: process.env.PATH,
      COMPOSE: join(dir, 'compose'),
      ENV_FILE: envFile,
      FORCE: '0',
      FAKE_LOG: log,
      SWITCH_REASON: 'rollback: bad release',
      AUDIT_WHO: 'alice@host1',
      SWITCH_EXIT: String(fake.exit ?? 0),
      SWITCH_SLEEP: String(fake.sleepSec ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
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

describe('scripts/switch.sh', () => {
  it('announces, switches, saves the pool and records it in the history; the marker stays', async () => {
    chmodSync(envFile, 0o600);
    const { code } = await switchTo('green').done;
    expect(code).toBe(0);
    const made = calls();
    expect(made).toHaveLength(4);
    expect(made[0]).toMatch(READY_CHECK);
    expect(made.slice(1)).toEqual([ANNOUNCE, SWITCH, RECORD('ok')]);
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=green\n');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
  });

  it('refuses while a release holds the lock, naming the lock file, but goes on when that release itself switches', async () => {
    held = acquireLock(lockPath(envFile), 'release');
    if (!held.ok) throw new Error('lock not taken');
    const refused = await switchTo('green').done;
    expect(refused.code).toBe(1);
    expect(calls()).toEqual([]);
    expect(refused.stderr).toMatch(new RegExp(`^switch: a release is already running \\(pid ${process.pid} .*lock ${lockPath(envFile)}\\).*remove ${lockPath(envFile)}\n$`));
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=blue\n');
    // The release's own switch (steps.ts runs switch.sh with the release's environment).
    const own = await switchTo('green', { env: { RELEASE_LOCK_TOKEN: held.token } }).done;
    expect(own.code).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=green\n');
    expect(JSON.parse(readFileSync(lockPath(envFile), 'utf8'))).toMatchObject({ token: held.token });
  });

  it('holds the lock while it switches, so a release waits, and frees it after', async () => {
    const { done } = switchTo('green', { sleepSec: 1 });
    await until(() => calls().includes(SWITCH));
    expect(acquireLock(lockPath(envFile), 'release')).toMatchObject({ ok: false, holder: { action: 'switch' } });
    expect((await done).code).toBe(0);
    expect(existsSync(lockPath(envFile))).toBe(false);
  });

  it('withdraws the announcement when Nginx fails to switch, and exits non-zero', async () => {
    const { code, stderr } = await switchTo('green', { exit: 3 }).done;
    expect(code).toBe(3);
    expect(calls().slice(1)).toEqual([ANNOUNCE, SWITCH, CANCEL, RECORD('failed')]);
    expect(stderr).toContain('withdrawing the planned-switch marker');
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=blue\n');
  });

  it('withdraws the announcement when interrupted during the switch', async () => {
    const { child, done } = switchTo('green', { sleepSec: 1 });
    await until(() => calls().includes(SWITCH));
    child.kill('SIGTERM');
    const { code } = await done;
    expect(code).toBe(143);
    expect(calls().slice(1)).toEqual([ANNOUNCE, SWITCH, CANCEL, RECORD('failed')]);
    expect(readFileSync(envFile, 'utf8')).toBe('ACTIVE_POOL=blue\n');
  });

  it('refuses a bad pool before telling anyone anything', async () => {
    const { code } = await switchTo('purple').done;
    expect(code).toBe(2);
    expect(calls()).toEqual([]);
  });
});
