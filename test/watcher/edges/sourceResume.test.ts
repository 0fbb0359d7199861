// A restart after a rotation while the watcher was down: the source finds the
// saved file among the rotated ones beside the log (as
// nginx/docker-entrypoint.d/50-rotate-access-log.sh names them), finishes it
// from the saved offset, then the newer ones, then the log file from its
// start. Real files in a temp dir; each case saves a position as the pipeline
// would (position() inside onLine), rotates, and starts a new source there.
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startSource, type Source, type SourcePosition } from '../../../watcher/source/index.js';
import { rotatedNames } from '../../../watcher/source/resume.js';

const POLL_MS = 20;
// Generous: a rotated file is finished 200 ms after the new one's first line, and the machine may be busy.
const SOON = { timeout: 5_000 };

let dir: string;
let log: string;
const sources: Source[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'source-resume-'));
  log = join(dir, 'access.log');
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** Lines `from` … `from + count - 1`, each long enough that a few fill a 256-byte fingerprint. */
const lines = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `time=2025-01-01T00:00:00Z rid=${from + i} pool=blue status=200\n`).join('');
const seqs = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

interface Run {
  seen: number[];
  /** position() as the pipeline saw it inside onLine, by line number. */
  positionAt: Map<number, SourcePosition | undefined>;
  logs: Array<{ msg: string; level: string; [key: string]: unknown }>;
  source: Source;
}

function run(start?: SourcePosition): Run {
  const seen: number[] = [];
  const positionAt = new Map<number, SourcePosition | undefined>();
  const logs: Run['logs'] = [];
  const source: Source = startSource({
    path: log,
    pollIntervalMs: POLL_MS,
    maxLineBytes: 1024,
    logger: createLogger('test', 'debug', { write: (s: string) => logs.push(JSON.parse(s)) }),
    start,
    onLine: (line) => {
      const seq = Number(/ rid=(\d+) /.exec(line)?.[1]);
      seen.push(seq);
      positionAt.set(seq, source.position());
    },
    onDroppedLine: () => expect.unreachable('no line is over the limit'),
  });
  sources.push(source);
  return { seen, positionAt, logs, source };
}

/** The position a run started on `log` (holding lines 0 … count - 1) saves: its end. */
async function savedAfter(count: number): Promise<SourcePosition> {
  writeFileSync(log, lines(0, count));
  const first = run();
  await vi.waitFor(() => expect(first.source.position()?.offset).toBe(lines(0, count).length), SOON);
  const saved = first.source.position() as SourcePosition;
  await first.source.stop();
  return saved;
}

/** What 50-rotate-access-log.sh does, keeping `keep` rotated files: shift, rename, and Nginx's reopen makes a new file. */
function rotate(keep: number, newContent: string): void {
  rmSync(`${log}.${keep}`, { force: true });
  for (let i = keep; i > 1; i--) {
    try {
      renameSync(`${log}.${i - 1}`, `${log}.${i}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  renameSync(log, `${log}.1`);
  writeFileSync(log, newContent);
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
const startOver = (logs: Run['logs']) => logs.filter((l) => l.msg === 'saved log file not found; reading the log file from its start');

it('rotatedNames: the rotated files beside the log, newest first, compressed ones marked', () => {
  const names = ['access.log', 'access.log.10', 'access.log.2.gz', 'access.log.1', 'access.log.2', 'error.log.1'];
  const others = ['access.log.1.tmp', 'access.log.old', 'access.log-20250101', 'access.logx.1', 'access.log.'];
  expect(rotatedNames('access.log', [...names, ...others])).toEqual([
    { name: 'access.log.1', generation: 1, compressed: false },
    { name: 'access.log.2', generation: 2, compressed: false },
    { name: 'access.log.2.gz', generation: 2, compressed: true },
    { name: 'access.log.10', generation: 10, compressed: false },
  ]);
});

it('finishes the rotated file from the saved offset, then reads the new one whole: every line once, in order', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 10)); // after the save, before the rename
  renameSync(log, `${log}.1`);
  appendFileSync(`${log}.1`, lines(20, 5)); // a worker that had not reopened yet
  writeFileSync(log, lines(25, 15));

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 30)), SOON);
  expect(second.logs.find((l) => l.msg.startsWith('the saved position is in a rotated log file'))).toMatchObject({
    level: 'info',
    path: `${log}.1`,
    savedOffset: saved.offset,
  });
  expect(startOver(second.logs)).toEqual([]);
  appendFileSync(log, lines(40, 2));
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 32)), SOON);
  expect(second.source.status()).toMatchObject({ state: 'following', rotationPending: false });
});

it('after two rotations finishes .2 from the saved offset, then .1, then the log file', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 10));
  rotate(2, lines(20, 10));
  rotate(2, lines(30, 10));

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 30)), SOON);
  expect(second.logs.find((l) => l.msg.startsWith('the saved position is in a rotated log file'))).toMatchObject({
    path: `${log}.2`,
    newer: [`${log}.1`, log],
  });
});

it('a rotated backlog of several polls\' reads (4 MB each): each file read whole, once', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 150_000)); // 10 MB
  rotate(2, lines(150_010, 150_000));
  rotate(2, lines(300_010, 10));

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toHaveLength(300_010), { timeout: 10_000 });
  expect(second.seen.every((seq, i) => seq === 10 + i)).toBe(true);
});

it('a crash while finishing a rotated file resumes in it, even after one more rotation', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 10));
  rotate(3, lines(20, 10));
  const headOfRotated = readFileSync(`${log}.1`).subarray(0, 256);

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 20)), SOON);
  await second.source.stop();
  // Saved while line 14 of the rotated file was being handed on: the position is in that file.
  const crashedAt = second.positionAt.get(14) as SourcePosition;
  expect(crashedAt).toEqual({ fingerprint: sha1(headOfRotated), fingerprintBytes: 256, offset: lines(0, 15).length });

  appendFileSync(log, lines(30, 5));
  rotate(3, lines(35, 5));
  const third = run(crashedAt);
  await vi.waitFor(() => expect(third.seen).toEqual(seqs(15, 25)), SOON);
});

it('the log file missing at start: finishes the rotated file, then reads the log file once it appears', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 5));
  renameSync(log, `${log}.1`);

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 5)), SOON);
  expect(second.source.status().rotationPending).toBe(true);
  writeFileSync(log, lines(15, 5));
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 10)), SOON);
});

it('a copy-truncate while down: finishes the copy from the saved offset, then the truncated file from its start', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 5));
  copyFileSync(log, `${log}.1`);
  truncateSync(log, 0);
  appendFileSync(log, lines(15, 5));

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(10, 10)), SOON);
});

it('the saved file gone: one warning with the files looked at, then the log file from its start', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 10));
  rotate(1, lines(20, 10));
  rotate(1, lines(30, 10)); // the saved file was access.log.1, now deleted

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(30, 10)), SOON);
  expect(startOver(second.logs)).toEqual([
    expect.objectContaining({
      level: 'warn',
      path: log,
      reason: 'its first bytes differ: rotated or replaced',
      lookedFor: [`${log}.1`],
    }),
  ]);
});

it('a compressed rotated file cannot be read: skipped, and the warning says so', async () => {
  const saved = await savedAfter(10);
  rotate(2, lines(20, 10));
  rotate(2, lines(30, 10));
  // logrotate's compress: the saved file is in access.log.2.gz now.
  renameSync(`${log}.2`, `${log}.2.gz`);

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual(seqs(30, 10)), SOON);
  expect(startOver(second.logs)).toEqual([
    expect.objectContaining({ lookedFor: [`${log}.1`], skippedCompressed: [`${log}.2.gz`] }),
  ]);
});

it('a compressed file newer than the saved one: its lines are skipped, with a warning, the others read', async () => {
  const saved = await savedAfter(10);
  appendFileSync(log, lines(10, 5));
  rotate(3, lines(15, 5));
  rotate(3, lines(20, 5));
  renameSync(`${log}.1`, `${log}.1.gz`); // as if compressed (not a logrotate default, but possible)

  const second = run(saved);
  await vi.waitFor(() => expect(second.seen).toEqual([...seqs(10, 5), ...seqs(20, 5)]), SOON);
  expect(second.logs.find((l) => l.msg.includes('compressed'))).toMatchObject({
    level: 'warn',
    skippedCompressed: [`${log}.1.gz`],
  });
});
