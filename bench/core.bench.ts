// Throughput and memory of the watcher's hot path (parse → detect) on a
// realistic synthetic log. Run: npm run bench (needs --expose-gc for the heap
// numbers). Prints a summary and writes bench/results/watcher.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Detector } from '../watcher/detect/index.js';
import { parseLine } from '../watcher/parse.js';
import type { AccessRecord } from '../watcher/types.js';
import { generate, START } from './lib/accessLog.js';

const BATCH = 100_000;
const ROUNDS = 10; // BATCH × ROUNDS lines per timed phase
const WARMUP = 50_000;
const RESULTS = new URL('../../bench/results/', import.meta.url);

function detector(windowSize: number): Detector {
  let now = START;
  return new Detector({
    activePool: 'blue',
    windowSize,
    thresholdPercent: 2,
    clock: () => (now += 5),
    plannedSwitch: () => undefined,
  });
}

interface Phase {
  name: string;
  lines: number;
  ms: number;
  linesPerSec: number;
  nsPerLine: number;
  heapBeforeMB: number;
  heapAfterMB: number;
  alerts?: Record<string, number>;
}

function heapMB(): number {
  globalThis.gc?.();
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
}

function measure(name: string, run: () => number, extra: Partial<Phase> = {}): Phase {
  const heapBeforeMB = heapMB();
  const started = process.hrtime.bigint();
  const lines = run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const phase: Phase = {
    name,
    lines,
    ms: Math.round(ms),
    linesPerSec: Math.round(lines / (ms / 1000)),
    nsPerLine: Math.round((ms * 1e6) / lines),
    heapBeforeMB,
    heapAfterMB: heapMB(),
    ...extra,
  };
  console.log(
    `${name.padEnd(34)} ${String(phase.linesPerSec.toLocaleString('en-US')).padStart(11)} lines/s ` +
      `${String(phase.nsPerLine).padStart(6)} ns/line  heap ${phase.heapBeforeMB} → ${phase.heapAfterMB} MB`,
  );
  return phase;
}

function parseAll(lines: readonly string[]): AccessRecord[] {
  const records: AccessRecord[] = [];
  for (const line of lines) {
    const r = parseLine(line);
    if (!r.ok) throw new Error(`generated a malformed line (${r.reason}): ${line}`);
    records.push(r.record);
  }
  return records;
}

function countAlerts(into: Record<string, number>, d: Detector, record: AccessRecord): void {
  for (const alert of d.observe(record)) into[alert.kind] = (into[alert.kind] ?? 0) + 1;
}

if (globalThis.gc === undefined) console.warn('run with node --expose-gc for exact heap numbers');
console.log(`node ${process.version}, ${(BATCH * ROUNDS).toLocaleString('en-US')} lines per phase\n`);

const lines = generate(BATCH, 1);
// Let the JIT settle on every path before anything is timed.
const warm = detector(200);
for (let i = 0; i < WARMUP; i++) {
  const r = parseLine(lines[i % BATCH] ?? '');
  if (r.ok) warm.observe(r.record);
}

const phases: Phase[] = [];
let sink = 0;

phases.push(
  measure('parseLine', () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const line of lines) if (parseLine(line).ok) sink++;
    }
    return BATCH * ROUNDS;
  }),
);

for (const windowSize of [200, 10_000]) {
  const alerts: Record<string, number> = {};
  phases.push(
    measure(
      `parseLine + observe (window ${windowSize})`,
      () => {
        const d = detector(windowSize);
        for (let round = 0; round < ROUNDS; round++) {
          for (const line of lines) {
            const r = parseLine(line);
            if (r.ok) countAlerts(alerts, d, r.record);
          }
        }
        return BATCH * ROUNDS;
      },
      { alerts },
    ),
  );
}

// Pre-parsed records isolate the detector: its cost per line must not grow
// with the window. Parsed only now: 100k live records make every GC slower
// and would have skewed the phases above, where the heap is as small as the
// watcher's own.
const records = parseAll(lines);
// Kept alive so each phase's heapAfterMB includes its detector's window.
const retained: Detector[] = [];
for (const windowSize of [200, 10_000]) {
  phases.push(
    measure(`observe only (window ${windowSize})`, () => {
      const d = detector(windowSize);
      for (let round = 0; round < ROUNDS; round++) {
        for (const record of records) sink += d.observe(record).length;
      }
      retained.push(d);
      return BATCH * ROUNDS;
    }),
  );
}

const huge = `status=200 pool="blue" path="${'\\x41'.repeat(1 << 18)}" upstream_addr="${'x, '.repeat(1 << 18)}"`;
const hugeStarted = process.hrtime.bigint();
const hugeResult = parseLine(huge);
const hugeLineMs = Number(process.hrtime.bigint() - hugeStarted) / 1e6;
console.log(`\n2 MB line: ${hugeLineMs.toFixed(1)} ms (${hugeResult.ok ? 'ok' : hugeResult.reason})`);

const summary = {
  node: process.version,
  generatedAt: new Date().toISOString(),
  linesPerPhase: BATCH * ROUNDS,
  distinctLines: BATCH,
  exactHeap: globalThis.gc !== undefined,
  phases,
  hugeLineMs: Math.round(hugeLineMs * 10) / 10,
  checksum: sink,
};

mkdirSync(RESULTS, { recursive: true });
const out = new URL('watcher.json', RESULTS);
writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote ${fileURLToPath(out)}`);
