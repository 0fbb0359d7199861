// Rotation while lines flow at 1,000/s from another process: the source stage
// reads every line once across a rename (finishing the old file, which the
// writer keeps appending to until it reopens), and every line written after a
// copy-truncate exactly once. Only lines it had not yet read when the file was
// truncated can be missed: they exist in the copy alone.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startSource, type Source } from '../../../watcher/source/index.js';

const WRITER = resolve('test/support/rotatingWriter.mjs');
const RATE = 1_000;
const POLL_MS = 250;

let dir: string;
let source: Source | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rotation-'));
});
afterEach(async () => {
  await source?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('reads every line once across a rename rotation, and every line after a copy-truncate once', async () => {
  const path = join(dir, 'access.log');
  writeFileSync(path, '');
  const seen = new Map<number, number>();
  source = startSource({
    path,
    pollIntervalMs: POLL_MS,
    maxLineBytes: 16_384,
    logger: createLogger('test', 'silent'),
    onLine: (line) => {
      const seq = Number(/ rid=(\d+) /.exec(line)?.[1]);
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    },
    onDroppedLine: () => expect.unreachable('no line is over the limit'),
  });
  await vi.waitFor(() => expect(source?.status().state).toBe('following'));

  const { stdout } = await promisify(execFile)(process.execPath, [WRITER, path, String(RATE), '4000', '1000', '2500']);
  const marks = JSON.parse(stdout) as { total: number; rename: number; reopen: number; copyTruncate: number };
  expect(marks.total).toBeGreaterThan(3_500);
  await vi.waitFor(() => expect(seen.has(marks.total - 1)).toBe(true), { timeout: 5_000 });

  const repeated = [...seen].filter(([, n]) => n > 1).map(([seq]) => seq);
  const missing = Array.from({ length: marks.total }, (_, seq) => seq).filter((seq) => !seen.has(seq));
  console.info(`rotation at ${RATE} lines/s: ${marks.total} written, ${missing.length} missed (${JSON.stringify(marks)})`);
  expect(repeated).toEqual([]);
  // Rename: nothing lost on either side of it. Copy-truncate: at most the lines
  // written since the last read before the truncate (one poll's worth).
  expect(missing.every((seq) => seq < marks.copyTruncate)).toBe(true);
  expect(missing.length).toBeLessThanOrEqual((RATE * POLL_MS) / 1000 + 20);
  expect(source.status()).toMatchObject({ rotations: 1, truncations: 1 });
}, 20_000);
