// Source throughput: a separate process appends 250 MB of access-log lines to a
// real file while this one reads them through the watcher's source stage
// (watcher/source/), alone and wired into the pipeline as main.ts wires it.
// Reports lines/s sustained, whether the reader keeps up with the writer, the
// lag when the writer ends, and peak RSS (reads must stay bounded).
// Run: npm run bench source. Writes bench/results/source.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../common/logger.js';
import { createControl } from '../watcher/state/control.js';
import { createDryRunSink } from '../watcher/notify/dryRun.js';
import { createPipeline } from '../watcher/pipeline.js';
import { startSource } from '../watcher/source/index.js';
import { WatcherStats } from '../watcher/operator/stats.js';
import { peakRssMB, printTable, printVerdicts, writeResults, type Row } from './lib/report.js';
import { startWriter } from './lib/writerProcess.js';
import { DEFAULT_SETTINGS, WATCHER_DEFAULTS } from './lib/watcherDefaults.js';

const BURST_BYTES = 250 * 2 ** 20;
const BLOCK_BYTES = 256 * 1024;
const TARGET_LINES_PER_SEC = 1_000_000;
const TARGET_RSS_MB = 150;
// Keeping up: the last line is read within this share of the writer's time
// after the writer ends, so the lag did not grow through the burst.
const KEEPS_UP_SHARE = 0.05;
const POLL_INTERVAL_MS = WATCHER_DEFAULTS.LOG_POLL_INTERVAL_MS;
const MAX_LINE_BYTES = WATCHER_DEFAULTS.MAX_LINE_BYTES;
const SAMPLE_EVERY_MS = 20;
const PHASE_TIMEOUT_MS = 120_000;

const MB = 2 ** 20;
const now = () => performance.timeOrigin + performance.now();
const logger = createLogger('bench', 'silent');

interface Phase {
  name: string;
  /** Reads with the pipeline behind the source, or only counts lines. */
  pipeline: boolean;
  /** The writer's pace; undefined: as fast as it can. */
  linesPerSec?: number;
}

// The source alone shows its own cost; behind it, the pipeline as main.ts wires it.
const PHASES: Phase[] = [
  { name: 'source alone, writer flat out', pipeline: false },
  { name: `source alone, writer at ${TARGET_LINES_PER_SEC / 1e6}M lines/s`, pipeline: false, linesPerSec: TARGET_LINES_PER_SEC },
  { name: 'source → pipeline, writer flat out', pipeline: true },
  { name: `source → pipeline, writer at ${TARGET_LINES_PER_SEC / 1e6}M lines/s`, pipeline: true, linesPerSec: TARGET_LINES_PER_SEC },
];

function lineHandler(dir: string, withPipeline: boolean): (line: string) => void {
  if (!withPipeline) return () => {};
  const clock = Date.now;
  const pipeline = createPipeline({
    ...DEFAULT_SETTINGS,
    activePool: 'blue',
    clock,
    control: createControl({ dir: join(dir, 'control'), defaultMaintenance: false, clock, logger }),
    sink: createDryRunSink(logger),
    stats: new WatcherStats(clock),
    logger,
  });
  return pipeline.onLine;
}

async function run(phase: Phase): Promise<Row> {
  globalThis.gc?.();
  const dir = mkdtempSync(join(tmpdir(), 'source-bench-'));
  const path = join(dir, 'access.log');
  writeFileSync(path, '');
  const writer = await startWriter({
    mode: 'burst',
    path,
    bytes: BURST_BYTES,
    blockBytes: BLOCK_BYTES,
    linesPerSec: phase.linesPerSec,
  });
  const expected = writer.planned.lines;

  const handle = lineHandler(dir, phase.pipeline);
  let lines = 0;
  let firstAt = 0;
  let lastAt = 0;
  let dropped = 0;
  const source = startSource({
    path,
    pollIntervalMs: POLL_INTERVAL_MS,
    maxLineBytes: MAX_LINE_BYTES,
    logger,
    onLine(line) {
      handle(line);
      if (++lines === 1) firstAt = now();
      if (lines === expected) lastAt = now();
    },
    onDroppedLine: () => void dropped++,
  });
  while (source.status().state !== 'following') await sleep(5);

  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, SAMPLE_EVERY_MS);
  const started = now();
  let offsetAtWriterEnd = 0;
  const written = writer
    .go((_, bytes) => process.stdout.write(`\r  ${phase.name}: written ${(bytes / MB).toFixed(0)} MB, read ${(source.status().offset / MB).toFixed(0)} MB   `))
    .then((done) => {
      offsetAtWriterEnd = source.status().offset;
      return done;
    });
  while (lines < expected && now() - started < PHASE_TIMEOUT_MS) await sleep(SAMPLE_EVERY_MS);
  const done = await written;
  clearInterval(sampler);
  await source.stop();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write('\n');
  if (lines !== expected) throw new Error(`${phase.name}: read ${lines} of ${expected} lines (${dropped} dropped)`);

  const writerSecs = (done.endedAt - done.startedAt) / 1000;
  const readerSecs = (lastAt - done.startedAt) / 1000;
  return {
    phase: phase.name,
    lines: expected,
    MB: Math.round(done.bytes / MB),
    'writer lines/s': Math.round(expected / writerSecs),
    'reader lines/s': Math.round(expected / readerSecs),
    'sustained lines/s': Math.round(expected / ((lastAt - firstAt) / 1000)),
    'reader MB/s': Math.round(done.bytes / MB / readerSecs),
    'keeps up': lastAt - done.endedAt <= KEEPS_UP_SHARE * (done.endedAt - done.startedAt),
    'lag at writer end MB': Math.round(((done.bytes - offsetAtWriterEnd) / MB) * 10) / 10,
    'catch-up ms': Math.max(0, Math.round(lastAt - done.endedAt)),
    'peak RSS MB': Math.round(peakRss / MB),
  };
}

console.log(`node ${process.version}; ${BURST_BYTES / MB} MB per phase, writer in a separate process\n`);
const rows: Row[] = [];
for (const phase of PHASES) rows.push(await run(phase));
const maxRssMB = peakRssMB();

printTable('Source throughput (lines from a real file, another process writing)', rows);
const row = (pipeline: boolean, paced: boolean) =>
  rows[PHASES.findIndex((p) => p.pipeline === pipeline && (p.linesPerSec !== undefined) === paced)];
const sustained = (pipeline: boolean) => Number(row(pipeline, false)?.['sustained lines/s'] ?? 0);
const keepsUp = (pipeline: boolean) => row(pipeline, true)?.['keeps up'] === true;
const target = TARGET_LINES_PER_SEC.toLocaleString('en-US');
printVerdicts([
  ...[true, false].flatMap((pipeline) => {
    const what = pipeline ? 'source → pipeline' : 'source alone';
    return [
      { metric: `sustained lines/s, ${what}`, value: sustained(pipeline), target: `≥ ${target}`, met: sustained(pipeline) >= TARGET_LINES_PER_SEC },
      { metric: `keeps up with ${target} lines/s, ${what}`, value: keepsUp(pipeline), target: `done ≤ ${KEEPS_UP_SHARE * 100}% of the writing time after the writer`, met: keepsUp(pipeline) },
    ];
  }),
  { metric: 'peak RSS (maxRSS, all phases)', value: maxRssMB, target: `< ${TARGET_RSS_MB} MB`, met: maxRssMB < TARGET_RSS_MB },
]);
writeResults('source', { burstBytes: BURST_BYTES, blockBytes: BLOCK_BYTES, pollIntervalMs: POLL_INTERVAL_MS, phases: rows, maxRssMB });
