// Tail-to-alert latency: the compiled watcher (dist/watcher/main.js) follows a
// real file that a separate process appends to at a fixed rate, with failovers
// among the lines; a local webhook receiver stands in for Slack. For each
// failover: time from the write of its line to the receipt of its "Failover
// detected" message, p50/p99/max; messages expected vs received; and whether
// the watcher keeps up (its read offset against the file's size at the end).
//
// A failover opens an incident, and only a new incident is news: the next
// failover is posted only once this one has resolved. So each failover is
// followed by more than a second of blue serving steadily, with
// RECOVERY_HOLD_SEC=0 (resolved at the next tick, once a second) and no
// cooldown; the failover line's path (/flip/<id>) is in its message's "Last
// failed request" field. The all-clears are posted too, but are timed by the
// tick, not by the reader, and are not counted.
// Run: npm run bench latency. Writes bench/results/latency.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startReceiver, type Receiver } from '../testkit/receiver.js';
import { percentile } from '../ops/stack/index.js';
import { printTable, printVerdicts, writeResults, type Row } from './lib/report.js';
import type { Flip, PacedJob } from './lib/logWriter.js';
import { startWriter } from './lib/writerProcess.js';
import { freePort } from '../testkit/freePort.js';

interface Rate {
  linesPerSec: number;
  seconds: number;
  /**
   * Lines from one failover to the next: 1.25 to 1.5 s, of which green serves
   * the first 0.1 s and blue the rest, over a second, so a tick always falls
   * in it and resolves the incident before the next failover.
   */
  flipEvery: [number, number];
  greenLines: number;
}

const RATES: Rate[] = [
  { linesPerSec: 1_000, seconds: 45, flipEvery: [1_250, 1_500], greenLines: 100 },
  { linesPerSec: 10_000, seconds: 60, flipEvery: [12_500, 15_000], greenLines: 1_000 },
];
const TARGET = { linesPerSec: 10_000, p50Ms: 100, p99Ms: 300 };
// After the writer stops: how long the watcher may take to read the rest and post what is left.
const SETTLE_MS = 10_000;
const WATCHER = fileURLToPath(new URL('../watcher/main.js', import.meta.url));
const FLIP_PATH = /\/flip\/(\d+)/;
const OPENING = 'Failover detected: ';

interface Stats {
  source: { state: string; offset: number };
  lines: { read: number };
}

interface Watcher {
  process: ChildProcess;
  port: number;
  output: string[];
}

async function stats(watcher: Watcher): Promise<Stats> {
  const res = await fetch(`http://127.0.0.1:${watcher.port}/stats`);
  return (await res.json()) as Stats;
}

async function startWatcher(dir: string, logPath: string, receiver: Receiver): Promise<Watcher> {
  const port = await freePort();
  const child = spawn(process.execPath, [WATCHER], {
    // Its own cwd, so no developer's .env is read.
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_PATH: logPath,
      CONTROL_DIR: join(dir, 'control'),
      ACTIVE_POOL_FILE: join(dir, 'none'),
      ACTIVE_POOL: 'blue',
      ALERT_COOLDOWN_SEC: '0',
      RECOVERY_HOLD_SEC: '0',
      WATCHER_PORT: String(port),
      SLACK_WEBHOOK_URL: receiver.url('/services/T/B/bench'),
      LOG_LEVEL: 'warn',
    },
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(chunk.toString());
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const watcher = { process: child, port, output };
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`the watcher exited (${child.exitCode}):\n${output.join('')}`);
    const state = await stats(watcher).then((s) => s.source.state, () => 'starting');
    if (state === 'following') return watcher;
    if (tries > 200) throw new Error(`the watcher did not start following ${logPath}:\n${output.join('')}`);
    await sleep(25);
  }
}

/** CPU seconds (user + system) the process has used so far; Linux only. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Failover id → when its opening message arrived; the all-clear, which names the same request, is not counted. */
function flipIdsReceived(receiver: Receiver): Map<number, number> {
  const at = new Map<number, number>();
  for (const request of receiver.delivered()) {
    const { text } = JSON.parse(request.body) as { text: string };
    if (!text.startsWith(OPENING)) continue;
    const id = FLIP_PATH.exec(request.body)?.[1];
    if (id !== undefined && !at.has(Number(id))) at.set(Number(id), request.at);
  }
  return at;
}

async function runRate(rate: Rate, ctx: { watcher: Watcher; receiver: Receiver; logPath: string; flipsSoFar: Flip[] }): Promise<Row> {
  const last = ctx.flipsSoFar.at(-1);
  const job: PacedJob = {
    mode: 'paced',
    path: ctx.logPath,
    rate: rate.linesPerSec,
    seconds: rate.seconds,
    flipEvery: rate.flipEvery,
    greenLines: rate.greenLines,
    firstFlipId: (last?.id ?? -1) + 1,
  };
  const label = `${rate.linesPerSec.toLocaleString('en-US')} lines/s`;
  const writer = await startWriter(job);
  const cpuBefore = cpuSeconds(ctx.watcher.process.pid);
  const progress = setInterval(() => {
    void stats(ctx.watcher).then((s) => {
      const lag = statSync(ctx.logPath).size - s.source.offset;
      console.log(`  ${label}: ${s.lines.read.toLocaleString('en-US')} lines read, ${flipIdsReceived(ctx.receiver).size} failover messages received, lag ${lag} B`);
    }, () => {});
  }, 2000);
  const done = await writer.go();
  const atEnd = await stats(ctx.watcher);
  const lagAtEnd = statSync(ctx.logPath).size - atEnd.source.offset;
  const cpuAfter = cpuSeconds(ctx.watcher.process.pid);
  ctx.flipsSoFar.push(...done.flips);

  const settleUntil = Date.now() + SETTLE_MS;
  let caughtUpMs: number | undefined;
  while (caughtUpMs === undefined && Date.now() < settleUntil) {
    const s = await stats(ctx.watcher);
    if (s.source.offset >= statSync(ctx.logPath).size) caughtUpMs = Math.round(performance.timeOrigin + performance.now() - done.endedAt);
    else await sleep(10);
  }
  let received = flipIdsReceived(ctx.receiver);
  while (done.flips.some((f) => !received.has(f.id)) && Date.now() < settleUntil) {
    await sleep(50);
    received = flipIdsReceived(ctx.receiver);
  }
  clearInterval(progress);

  const latencies = done.flips.flatMap((f) => {
    const at = received.get(f.id);
    return at === undefined ? [] : [at - f.writtenAt];
  });
  const secs = (done.endedAt - done.startedAt) / 1000;
  return {
    rate: label,
    lines: done.lines,
    'written lines/s': Math.round(done.lines / secs),
    'failovers': done.flips.length,
    'messages received': latencies.length,
    'p50 ms': Math.round(percentile(latencies, 50)),
    'p99 ms': Math.round(percentile(latencies, 99)),
    'max ms': Math.round(Math.max(...latencies)),
    'lag at end B': lagAtEnd,
    'caught up after ms': caughtUpMs,
    'watcher CPU %': cpuBefore === undefined || cpuAfter === undefined ? undefined : Math.round(((cpuAfter - cpuBefore) / secs) * 100),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'latency-bench-'));
const logPath = join(dir, 'access.log');
writeFileSync(logPath, '');
const receiver = await startReceiver();
const watcher = await startWatcher(dir, logPath, receiver);
console.log(`node ${process.version}; watcher pid ${watcher.process.pid} following ${logPath}\n`);
const rows: Row[] = [];
try {
  const flipsSoFar: Flip[] = [];
  for (const rate of RATES) rows.push(await runRate(rate, { watcher, receiver, logPath, flipsSoFar }));
} finally {
  watcher.process.kill('SIGTERM');
  await new Promise((resolve) => watcher.process.once('exit', resolve));
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}

printTable('Tail-to-alert latency (failover line written → its message received)', rows);
const target = rows.find((r) => r.rate === `${TARGET.linesPerSec.toLocaleString('en-US')} lines/s`);
const num = (key: string) => Number(target?.[key]);
printVerdicts([
  { metric: 'p50 at 10,000 lines/s', value: num('p50 ms'), target: `< ${TARGET.p50Ms} ms`, met: num('p50 ms') < TARGET.p50Ms },
  { metric: 'p99 at 10,000 lines/s', value: num('p99 ms'), target: `< ${TARGET.p99Ms} ms`, met: num('p99 ms') < TARGET.p99Ms },
  ...rows.map((r) => ({
    metric: `every failover message received, ${r.rate}`,
    value: `${r['messages received']} of ${r['failovers']}`,
    target: 'all',
    met: r['messages received'] === r['failovers'],
  })),
]);
writeResults('latency', { rates: RATES, rows });
