// The real daemon (dist/watcher/main.js, built by test/support/build.ts) against
// a temp log file, a temp control dir and a local webhook receiver.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SECRET_PATH, startReceiver, type Receiver } from '../../support/receiver.js';

const DIST = resolve('dist/watcher');
const POLL_MS = 25;
const ALERT_WITHIN_MS = 5_000;

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

interface Daemon {
  stdout: string[];
  stderr: string[];
  logs(): LogLine[];
  port: number;
  exit: Promise<number | null>;
  process: ChildProcess;
}

let dir: string;
let logPath: string;
let controlDir: string;
let receiver: Receiver;
let daemons: Daemon[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watcher-it-'));
  logPath = join(dir, 'access.log');
  controlDir = join(dir, 'control');
  receiver = await startReceiver();
  daemons = [];
});

afterEach(async () => {
  for (const d of daemons) {
    if (d.process.exitCode === null && d.process.signalCode === null) d.process.kill('SIGKILL');
    await d.exit;
  }
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
  // Whatever a case did, the webhook's secret path never reached the output.
  for (const d of daemons) expect([...d.stdout, ...d.stderr].join('\n')).not.toContain(SECRET_PATH);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function baseEnv(port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    LOG_PATH: logPath,
    CONTROL_DIR: controlDir,
    ACTIVE_POOL_FILE: join(dir, 'active-pool'),
    WATCHER_PORT: String(port),
    LOG_POLL_INTERVAL_MS: String(POLL_MS),
    ALERT_COOLDOWN_SEC: '1',
    SLACK_WEBHOOK_URL: receiver.url(),
    SLACK_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
  };
}

const SOURCE_READY = ['following the log file', 'waiting for the log file to appear'];

/** Starts the daemon and waits until it follows (or waits for) the log. */
async function startDaemon(env: Record<string, string> = {}, waitReady = true): Promise<Daemon> {
  const port = await freePort();
  // cwd is the temp dir so a developer's .env is never picked up.
  const child = spawn(process.execPath, [join(DIST, 'main.js')], { cwd: dir, env: { ...baseEnv(port), ...env } });
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
  daemons.push(d);
  if (waitReady) {
    await waitForLog(d, (l) => l.msg.startsWith('watcher started'));
    // The source opens the log asynchronously: lines written before it has
    // would count as history.
    await waitForLog(d, (l) => l.component === 'source' && SOURCE_READY.includes(l.msg));
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

async function waitForLog(d: Daemon, match: (l: LogLine) => boolean, timeout = ALERT_WITHIN_MS): Promise<LogLine> {
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
function accessLine(pool: string): string {
  return (
    `time=${new Date().toISOString()} rid=${randomUUID()} method=GET path="/version" status=200 ` +
    `pool="${pool}" release="${pool}-v1" upstream_status="200" upstream_addr="172.18.0.3:3000" ` +
    `request_time=0.004 upstream_response_time="0.002" bytes=98\n`
  );
}

const lines = (pool: string, n: number) => Array.from({ length: n }, () => accessLine(pool)).join('');
const postedTexts = () => receiver.delivered().map((r) => (JSON.parse(r.body) as { text: string }).text);

async function waitForPosts(n: number): Promise<string[]> {
  await vi.waitFor(() => expect(receiver.delivered().length).toBeGreaterThanOrEqual(n), {
    timeout: ALERT_WITHIN_MS,
    interval: 20,
  });
  return postedTexts();
}

/** Gives the daemon time to act on anything written (many polls), for "nothing happened" checks. */
const quietPeriod = () => sleep(POLL_MS * 20);

async function ctl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(DIST, 'ctl.js'), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', CONTROL_DIR: controlDir },
  });
  return stdout;
}

async function getJson(d: Daemon, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${d.port}${path}`);
  return { status: res.status, body: await res.json() };
}

describe('watcher daemon', () => {
  it('posts one failover alert for a flip, then a recovery; /stats and /healthz reflect it', async () => {
    writeFileSync(logPath, lines('blue', 5));
    const d = await startDaemon();
    appendFileSync(logPath, lines('blue', 3));
    const flippedAt = Date.now();
    appendFileSync(logPath, lines('green', 3));
    const [failover] = await waitForPosts(1);
    const delayMs = (receiver.delivered()[0]?.at ?? 0) - flippedAt;
    console.info(`failover alert delay: ${delayMs} ms (poll ${POLL_MS} ms)`);
    expect(failover).toContain('pool changed blue → green');
    expect(failover).toMatch(/^Failover detected/);

    appendFileSync(logPath, lines('blue', 2));
    const texts = await waitForPosts(2);
    expect(texts[1]).toMatch(/^Recovered: pool changed green → blue/);
    await quietPeriod();
    expect(receiver.requests).toHaveLength(2);

    const stats = await getJson(d, '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      lines: { read: 8, malformed: 0, droppedTooLong: 0 },
      servingPool: 'blue',
      primaryPool: 'blue',
      alerts: { sent: 2, heldBack: 0, suppressed: 0, failed: 0, dropped: 0, queued: 0 },
      lastAlert: { kind: 'recovery' },
      source: { state: 'following' },
    });
    expect(stats.body.window.count).toBe(8);
    expect(await getJson(d, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await getJson(d, '/nope')).status).toBe(404);
  });

  it('loses no flip across a rename rotation or a copy-truncate', async () => {
    writeFileSync(logPath, '');
    const d = await startDaemon();
    appendFileSync(logPath, lines('blue', 3));
    await quietPeriod();

    renameSync(logPath, `${logPath}.1`);
    appendFileSync(`${logPath}.1`, lines('blue', 2)); // before Nginx reopens
    writeFileSync(logPath, lines('green', 2)); // after
    expect((await waitForPosts(1))[0]).toContain('pool changed blue → green');

    copyFileSync(logPath, `${logPath}.2`);
    truncateSync(logPath, 0);
    appendFileSync(logPath, lines('blue', 1));
    expect((await waitForPosts(2))[1]).toContain('pool changed green → blue');

    const { body } = await getJson(d, '/stats');
    expect(body.source).toMatchObject({ rotations: 1, truncations: 1 });
    expect(body.lines.read).toBe(8);
  });

  it('replays nothing on restart: flips already in the file raise no alert', async () => {
    writeFileSync(logPath, lines('blue', 2) + lines('green', 2) + lines('blue', 2));
    const d = await startDaemon();
    await quietPeriod();
    expect(receiver.requests).toEqual([]);
    expect((await getJson(d, '/stats')).body.lines.read).toBe(0);

    appendFileSync(logPath, lines('green', 1));
    expect(await waitForPosts(1)).toEqual([expect.stringContaining('pool changed blue → green')]);
  });

  it('starts from the pool Nginx publishes, not a stale ACTIVE_POOL, after a switch', async () => {
    // Nginx was switched to green; this watcher still has ACTIVE_POOL=blue.
    writeFileSync(join(dir, 'active-pool'), 'green\n');
    writeFileSync(logPath, '');
    const d = await startDaemon({ ACTIVE_POOL: 'blue' });
    appendFileSync(logPath, lines('green', 3));
    await quietPeriod();
    expect(receiver.requests).toEqual([]);
    expect((await getJson(d, '/stats')).body).toMatchObject({ servingPool: 'green', primaryPool: 'green' });

    appendFileSync(logPath, lines('blue', 1));
    expect(await waitForPosts(1)).toEqual([expect.stringContaining('Failover detected: pool changed green → blue')]);
  });

  it('waits for a missing log file, then reads all of it', async () => {
    const d = await startDaemon();
    await waitForLog(d, (l) => l.msg === 'waiting for the log file to appear');
    writeFileSync(logPath, lines('blue', 1) + lines('green', 1));
    expect((await waitForPosts(1))[0]).toContain('pool changed blue → green');
    expect(d.process.exitCode).toBeNull();
  });

  it('reports a switch announced with ctl.js as planned, not as a failover', async () => {
    writeFileSync(logPath, lines('blue', 2));
    await startDaemon();
    expect(await ctl('planned-switch', 'green', '--from', 'blue')).toContain('planned switch to green');
    appendFileSync(logPath, lines('green', 2));
    const [text] = await waitForPosts(1);
    expect(text).toMatch(/^Planned switch: pool changed blue → green/);
    await quietPeriod();
    expect(postedTexts().some((t) => t.startsWith('Failover'))).toBe(false);
  });

  it('posts nothing in maintenance mode set with ctl.js, and logs the alert as suppressed', async () => {
    writeFileSync(logPath, lines('blue', 2));
    const d = await startDaemon();
    await ctl('maintenance', 'on');
    appendFileSync(logPath, lines('green', 2));
    const suppressed = await waitForLog(d, (l) => l.decision === 'suppress');
    expect(suppressed).toMatchObject({ kind: 'failover', reason: 'maintenance' });
    expect(suppressed.text).toContain('pool changed blue → green');
    await quietPeriod();
    expect(receiver.requests).toEqual([]);

    await ctl('maintenance', 'off');
    appendFileSync(logPath, lines('blue', 1));
    expect(await waitForPosts(1)).toEqual([expect.stringMatching(/^Recovered: pool changed green → blue/)]);
    // The receiver records a post before the daemon has read the answer.
    await vi.waitFor(async () =>
      expect((await getJson(d, '/stats')).body.alerts).toMatchObject({ suppressed: 1, sent: 1 }),
    );
  });

  it('retries through a Slack 500 and delivers exactly once', async () => {
    receiver.answerNext(500);
    writeFileSync(logPath, lines('blue', 2));
    await startDaemon();
    appendFileSync(logPath, lines('green', 1));
    await waitForPosts(1);
    await quietPeriod();
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(receiver.delivered()).toHaveLength(1);
  });

  it('on SIGTERM sends the alerts still queued, then exits 0', async () => {
    receiver.answerNext(503); // keeps the first alert in its retry backoff
    writeFileSync(logPath, lines('blue', 2));
    const d = await startDaemon();
    appendFileSync(logPath, lines('green', 1) + lines('blue', 1));
    await vi.waitFor(() => expect(d.logs().filter((l) => l.decision === 'send')).toHaveLength(2), {
      timeout: ALERT_WITHIN_MS,
    });
    expect(receiver.delivered()).toHaveLength(0);
    d.process.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    expect(postedTexts()).toEqual([
      expect.stringMatching(/^Failover detected/),
      expect.stringMatching(/^Recovered/),
    ]);
    expect(d.logs().at(-1)?.msg).toBe('stopped');
  });

  it('without a webhook, logs each alert as one JSON line (dry-run)', async () => {
    writeFileSync(logPath, lines('blue', 1));
    const d = await startDaemon({ SLACK_WEBHOOK_URL: '' });
    expect(d.logs().some((l) => l.level === 'warn' && l.msg.includes('dry-run'))).toBe(true);
    expect(d.logs().find((l) => l.msg.startsWith('watcher started'))).toMatchObject({ delivery: 'dry-run' });
    appendFileSync(logPath, lines('green', 1));
    const line = await waitForLog(d, (l) => l.msg.startsWith('dry-run: alert not posted'));
    expect((line.slack as { text: string }).text).toContain('pool changed blue → green');
  });

  it('logs the webhook host, never its path, and warns about plain http', async () => {
    const d = await startDaemon();
    const started = d.logs().find((l) => l.msg.startsWith('watcher started'));
    expect(started?.delivery).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d.logs().some((l) => l.level === 'warn' && l.msg.includes('plain http'))).toBe(true);
  });

  it('exits 1 on bad config with one clear stderr line per problem', async () => {
    const d = await startDaemon({ ERROR_RATE_THRESHOLD: 'abc', ACTIVE_POOL: 'red' }, false);
    expect(await d.exit).toBe(1);
    const problems = d.stderr.filter((l) => l !== '');
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^watcher: config error: ACTIVE_POOL: .*\(got "red"\)$/),
        expect.stringMatching(/^watcher: config error: ERROR_RATE_THRESHOLD: .*\(got "abc"\)$/),
      ]),
    );
  });
});
