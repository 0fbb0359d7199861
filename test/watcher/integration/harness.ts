// The real daemon (dist/watcher/main.js, built by test/support/build.ts) against
// a temp log file, a temp control dir and a local webhook receiver: shared by
// the integration suites. Importing it registers the per-test setup and teardown.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { freePort } from '../../../testkit/freePort.js';
import { SECRET_PATH } from '../../../testkit/receiver.js';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';

export { freePort };

const DIST = resolve('dist/watcher');
export const POLL_MS = 25;
export const ALERT_WITHIN_MS = 5_000;
// A process start is no on-call deadline: on a loaded 2-core host (two end-to-end
// stacks beside the unit files) Node alone can take seconds to start.
const STARTED_WITHIN_MS = 15_000;

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface Daemon {
  stdout: string[];
  stderr: string[];
  logs(): LogLine[];
  port: number;
  exit: Promise<number | null>;
  process: ChildProcess;
}

/** Fresh for each test: a temp dir with the log and control dir, and a webhook receiver. */
export const h = {} as { dir: string; logPath: string; controlDir: string; receiver: Receiver; daemons: Daemon[] };

beforeEach(async () => {
  h.dir = mkdtempSync(join(tmpdir(), 'watcher-it-'));
  h.logPath = join(h.dir, 'access.log');
  h.controlDir = join(h.dir, 'control');
  h.receiver = await startReceiver();
  h.daemons = [];
});

afterEach(async () => {
  for (const d of h.daemons) {
    if (d.process.exitCode === null && d.process.signalCode === null) d.process.kill('SIGKILL');
    await d.exit;
  }
  await h.receiver.close();
  rmSync(h.dir, { recursive: true, force: true });
  // Whatever a case did, the webhook's secret path never reached the output.
  for (const d of h.daemons) expect([...d.stdout, ...d.stderr].join('\n')).not.toContain(SECRET_PATH);
});

export function baseEnv(port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    LOG_PATH: h.logPath,
    CONTROL_DIR: h.controlDir,
    ACTIVE_POOL_FILE: join(h.dir, 'active-pool'),
    WATCHER_PORT: String(port),
    LOG_POLL_INTERVAL_MS: String(POLL_MS),
    ALERT_COOLDOWN_SEC: '1',
    // An incident resolves after this much steady service: short, so a case
    // sees its all-clear within a second or two.
    RECOVERY_HOLD_SEC: '1',
    SLACK_WEBHOOK_URL: h.receiver.url(),
    SLACK_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
  };
}

const SOURCE_READY = ['following the log file', 'waiting for the log file to appear'];

/** Starts the daemon and waits until it follows (or waits for) the log. */
export async function startDaemon(env: Record<string, string> = {}, waitReady = true): Promise<Daemon> {
  const port = await freePort();
  // cwd is the temp dir so a developer's .env is never picked up.
  const child = spawn(process.execPath, [join(DIST, 'main.js')], { cwd: h.dir, env: { ...baseEnv(port), ...env } });
  const d: Daemon = {
    stdout: [],
    stderr: [],
    logs: () => d.stdout.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as LogLine] : [])),
    port,
    // 'close', not 'exit': all output has been read by then.
    exit: new Promise((r) => child.on('close', (code) => r(code))),
    process: child,
  };
  collectLines(child.stdout, d.stdout);
  collectLines(child.stderr, d.stderr);
  h.daemons.push(d);
  if (waitReady) {
    await waitForLog(d, (l) => l.msg.startsWith('watcher started'), STARTED_WITHIN_MS);
    // The source opens the log asynchronously: lines written before it has
    // would count as history.
    await waitForLog(d, (l) => l.component === 'source' && SOURCE_READY.includes(l.msg), STARTED_WITHIN_MS);
  }
  return d;
}

function collectLines(stream: NodeJS.ReadableStream | null, into: string[]): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    into.push(...parts);
  });
}

export async function waitForLog(d: Daemon, match: (l: LogLine) => boolean, timeout = ALERT_WITHIN_MS): Promise<LogLine> {
  return vi.waitFor(
    () => {
      const found = d.logs().find(match);
      if (!found) throw new Error(`no matching log line yet:\n${d.stdout.slice(-5).join('\n')}`);
      return found;
    },
    { timeout, interval: 20 },
  );
}

// Clean 200s: the cases here are about pool flips, not the error rate.
export function accessLine(pool: string): string {
  return (
    `time=${new Date().toISOString()} rid=${randomUUID()} method=GET path="/version" status=200 ` +
    `pool="${pool}" release="${pool}-v1" upstream_status="200" upstream_addr="172.18.0.3:3000" ` +
    `request_time=0.004 upstream_response_time="0.002" bytes=98\n`
  );
}

export const lines = (pool: string, n: number) => Array.from({ length: n }, () => accessLine(pool)).join('');
export const postedTexts = () => h.receiver.delivered().map((r) => (JSON.parse(r.body) as { text: string }).text);

export async function waitForPosts(n: number): Promise<string[]> {
  await vi.waitFor(() => expect(h.receiver.delivered().length).toBeGreaterThanOrEqual(n), {
    timeout: ALERT_WITHIN_MS,
    interval: 20,
  });
  return postedTexts();
}

/** Gives the daemon time to act on anything written (many polls), for "nothing happened" checks. */
export const quietPeriod = () => sleep(POLL_MS * 20);

export async function ctl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(DIST, 'operator', 'ctl.js'), ...args], {
    cwd: h.dir,
    env: { PATH: process.env.PATH ?? '', CONTROL_DIR: h.controlDir },
  });
  return stdout;
}

export async function getJson(d: Daemon, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${d.port}${path}`);
  return { status: res.status, body: await res.json() };
}

