// The benchmarks' log writer: a child process (forked by bench/source.bench.ts
// and bench/latency.bench.ts) that appends access-log lines to a real file, so
// the reader competes with a writer the way the watcher competes with Nginx.
// Its job comes as JSON in argv[2]; it says `ready`, waits for `go`, writes,
// reports progress and ends with `done`.
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedOverLine, generateAccessLog, servedLine } from './accessLog.js';

/**
 * `bytes` of generated lines (the last one whole), in `blockBytes` writes cut
 * anywhere: as fast as it can, or at `linesPerSec` on average.
 */
export interface BurstJob {
  mode: 'burst';
  path: string;
  bytes: number;
  blockBytes: number;
  linesPerSec?: number;
}

/**
 * `rate` lines/s for `seconds`, in small batches timed by a monotonic clock,
 * as stretches of `flipEvery` lines (a random count in the range), each a
 * failover and its recovery: the first line is blue failing over to green
 * (path `/flip/<id>`), green serves the next `greenLines`, then blue serves
 * the rest of the stretch. A stretch the end would cut short is all blue.
 */
export interface PacedJob {
  mode: 'paced';
  path: string;
  rate: number;
  seconds: number;
  flipEvery: [min: number, max: number];
  greenLines: number;
  firstFlipId: number;
}

export type WriterJob = BurstJob | PacedJob;

export interface Flip {
  id: number;
  to: 'blue' | 'green';
  /** Epoch ms just before the write that carried it. */
  writtenAt: number;
}

export type WriterMessage =
  | { type: 'ready'; lines: number; bytes: number }
  | { type: 'progress'; lines: number; bytes: number }
  | { type: 'done'; lines: number; bytes: number; startedAt: number; endedAt: number; flips: Flip[] };

const POOL_LINES = 100_000;
const PROGRESS_EVERY_MS = 1000;

function send(message: WriterMessage): void {
  process.send?.(message);
}

function go(): Promise<void> {
  return new Promise((resolve) => process.once('message', () => resolve()));
}

/** Epoch ms with sub-ms precision: both processes read the same clock. */
const now = () => performance.timeOrigin + performance.now();

async function burst(job: BurstJob): Promise<void> {
  // The core benchmark's traffic, junk lines included; one byte per character.
  const pool = Buffer.from(generateAccessLog(POOL_LINES, 7).chunks.join(''), 'latin1');
  // Whole copies of the pool, then a prefix of it that ends with a line.
  const copies = Math.floor(job.bytes / pool.length);
  const tail = pool.lastIndexOf(0x0a, job.bytes - copies * pool.length) + 1;
  const bytes = copies * pool.length + tail;
  const lines = copies * POOL_LINES + countLines(pool.subarray(0, tail));
  send({ type: 'ready', lines, bytes });
  await go();
  const fd = openSync(job.path, 'a');
  const startedAt = now();
  let lastProgress = startedAt;
  // Bytes per ms that keep the asked line rate with this pool's mean line length.
  const pace = job.linesPerSec === undefined ? Infinity : (job.linesPerSec * (pool.length / POOL_LINES)) / 1000;
  for (let written = 0; written < bytes; ) {
    const ahead = written / pace - (now() - startedAt);
    // Timers are coarse: sleep only when a few ms ahead, then write that much at once.
    if (ahead >= 4) await sleep(ahead);
    const at = written % pool.length;
    const end = Math.min(pool.length, at + job.blockBytes, at + (bytes - written));
    written += writeSync(fd, pool, at, end - at);
    if (now() - lastProgress >= PROGRESS_EVERY_MS / 4) {
      lastProgress = now();
      send({ type: 'progress', lines: Math.round((lines * written) / bytes), bytes: written });
    }
  }
  closeSync(fd);
  send({ type: 'done', lines, bytes, startedAt, endedAt: now(), flips: [] });
}

async function paced(job: PacedJob): Promise<void> {
  const total = Math.round(job.rate * job.seconds);
  send({ type: 'ready', lines: total, bytes: 0 });
  await go();
  const fd = openSync(job.path, 'a');
  const flips: Flip[] = [];
  let nextFlip = 0;
  let greenUntil = 0;
  let flipId = job.firstFlipId;
  let bytes = 0;
  const startedAt = now();
  let lastProgress = startedAt;
  for (let written = 0; written < total; ) {
    const due = Math.min(total, Math.floor(((now() - startedAt) * job.rate) / 1000));
    if (due > written) {
      const at = Date.now();
      let batch = '';
      for (; written < due; written++) {
        // The last stretch is cut short by the end: no failover in it, so every failover is followed by its recovery.
        if (written === nextFlip && written + job.flipEvery[0] <= total) {
          batch += `${failedOverLine(at, requestId(written), `/flip/${flipId}`)}\n`;
          flips.push({ id: flipId++, to: 'green', writtenAt: at });
          greenUntil = written + 1 + job.greenLines;
          nextFlip += between(job.flipEvery);
          continue;
        }
        batch += `${servedLine(at, requestId(written), '/version', written < greenUntil ? 'green' : 'blue')}\n`;
      }
      bytes += writeSync(fd, batch);
    }
    if (now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now();
      send({ type: 'progress', lines: written, bytes });
    }
    await sleep(1);
  }
  closeSync(fd);
  send({ type: 'done', lines: total, bytes, startedAt, endedAt: now(), flips });
}

function countLines(buffer: Buffer): number {
  let count = 0;
  for (let i = buffer.indexOf(0x0a); i !== -1; i = buffer.indexOf(0x0a, i + 1)) count++;
  return count;
}

function between([min, max]: [number, number]): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function requestId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

const job = JSON.parse(process.argv[2] ?? '{}') as WriterJob;
await (job.mode === 'burst' ? burst(job) : paced(job));
process.disconnect();
