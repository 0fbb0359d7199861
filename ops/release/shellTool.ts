// What scripts/switch.sh and scripts/scale.sh run, so the shell uses the
// release tool's lock and env-file writer instead of keeping its own:
//   node dist/ops/release/shellTool.js with-lock <env file> <action> -- <command> [args...]
//   node dist/ops/release/shellTool.js set-env <env file> KEY=VALUE...
// with-lock exits with the command's code (128 + n when signal n ended it),
// 1 when the lock is held; both exit 2 on bad usage.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { setEnvValues } from './envFile.js';
import { LOCK_TOKEN_ENV, acquireLock, heldBy, lockPath, lockRefusal, type LockResult } from './lock.js';

const USAGE = `usage:
  shellTool.js with-lock <env file> <action> -- <command> [args...]
  shellTool.js set-env <env file> KEY=VALUE...`;

const [command, envFile, ...rest] = process.argv.slice(2);
process.exitCode = await main();

async function main(): Promise<number> {
  if (command === 'with-lock' && envFile && rest.length >= 3 && rest[1] === '--' && /^[a-z-]+$/.test(rest[0] ?? '')) {
    const [action, , child, ...args] = rest as [string, string, string, ...string[]];
    return withLock(envFile, action, child, args);
  }
  if (command === 'set-env' && envFile && rest.length > 0) {
    const values: Record<string, string> = {};
    for (const pair of rest) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=([^\n]*)$/.exec(pair);
      if (!m) return usage(`set-env: expected KEY=VALUE on one line (got "${pair.split('=')[0]}=…")`);
      values[m[1] as string] = m[2] as string;
    }
    setEnvValues(envFile, values);
    return 0;
  }
  return usage(`shellTool: bad arguments`);
}

function usage(message: string): number {
  console.error(`${message}\n${USAGE}`);
  return 2;
}

async function withLock(envFile: string, action: string, child: string, args: string[]): Promise<number> {
  const file = lockPath(envFile);
  // A release's own switch: its parent holds the lock already.
  const inherited = process.env[LOCK_TOKEN_ENV];
  let lock: LockResult | undefined;
  if (inherited === undefined || !heldBy(file, inherited)) {
    lock = acquireLock(file, action);
    if (!lock.ok) {
      console.error(`${action}: ${lockRefusal(file, lock, Date.now())}`);
      return 1;
    }
  }
  try {
    return await run(action, child, args);
  } finally {
    if (lock?.ok) lock.release();
  }
}

function run(action: string, command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    // Its own process group, which hears a Ctrl-C only from us: from the
    // terminal and again from us, the second would cut switch.sh's clean-up
    // trap short. No stdin: a background group reading the terminal is stopped.
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    const forward = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Gone already: its exit is on its way to 'close'.
      }
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (err) => {
      console.error(`${action}: cannot run ${command}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}
