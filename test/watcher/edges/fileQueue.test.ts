// Which file the source reads next, and from where, without the loop around it.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { FileQueue } from '../../../watcher/source/fileQueue.js';
import type { ResumeFile } from '../../../watcher/source/resume.js';
import type { SourcePosition } from '../../../watcher/source/types.js';

let dir: string;
let path: string;
let queue: FileQueue | undefined;
const handed: ResumeFile[] = [];
const logs: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-queue-'));
  path = join(dir, 'access.log');
  logs.length = 0;
});
afterEach(async () => {
  await Promise.all(handed.splice(0).map((f) => f.handle.close()));
  await queue?.close();
  queue = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function queueOf(saved?: SourcePosition): FileQueue {
  const logger = createLogger('test', 'debug', { write: (s: string) => logs.push((JSON.parse(s) as { msg: string }).msg) });
  queue = new FileQueue(path, saved, logger);
  return queue;
}

async function next(q: FileQueue) {
  const file = await q.next();
  if (file !== undefined) handed.push(file);
  return file && { path: file.path, offset: file.offset, rotated: file.rotated };
}

it('reads a file present at start from its end, and any later one from its start', async () => {
  writeFileSync(path, 'old-1\nold-2\n');
  const q = queueOf();
  expect(await next(q)).toEqual({ path, offset: 12, rotated: false });
  // The same path after a rotation: a new file, all of it written since.
  expect(await next(q)).toEqual({ path, offset: 0, rotated: false });
});

it('a file appearing after start is read from its start', async () => {
  const q = queueOf();
  expect(await next(q)).toBeUndefined();
  writeFileSync(path, 'first\n');
  expect(await next(q)).toEqual({ path, offset: 0, rotated: false });
});

it('says it is waiting once per wait, not once per poll', async () => {
  const q = queueOf();
  await next(q);
  await next(q);
  writeFileSync(path, 'a\n');
  await next(q);
  rmSync(path);
  await next(q);
  expect(logs.filter((m) => m === 'waiting for the log file to appear')).toHaveLength(2);
});

it('a saved position rotated away: that file from the saved offset, the newer ones, then the log, oldest first', async () => {
  const saved = 'saved-1\nsaved-2\n';
  writeFileSync(`${path}.2`, saved);
  writeFileSync(`${path}.1`, 'newer-1\n');
  writeFileSync(path, 'current-1\n');
  const fingerprint = createHash('sha1').update(saved).digest('hex');
  const q = queueOf({ fingerprint, fingerprintBytes: saved.length, offset: 8 });

  expect(await next(q)).toEqual({ path: `${path}.2`, offset: 8, rotated: true });
  expect(q.pending).toBe(true);
  expect(q.newerRotatedQueued).toBe(true);
  expect(await next(q)).toEqual({ path: `${path}.1`, offset: 0, rotated: true });
  expect(q.newerRotatedQueued).toBe(false);
  expect(q.pending).toBe(true);
  expect(await next(q)).toEqual({ path, offset: 0, rotated: false });
  expect(q.pending).toBe(false);
});
