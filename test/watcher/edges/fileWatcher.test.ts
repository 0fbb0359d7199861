// One file's reader on its own, with the clock handed in: the truncation and
// rotation decisions that startSource's tests can only reach through timing.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWatcher, ROTATION_QUIET_MS } from '../../../watcher/source/fileWatcher.js';
import { LineReader, READ_BYTES } from '../../../watcher/source/lineReader.js';

let dir: string;
let path: string;
let opened: FileWatcher[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-watcher-'));
  path = join(dir, 'access.log');
  opened = [];
});
afterEach(async () => {
  await Promise.allSettled(opened.map((f) => f.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Opens `path` at `offset`, recording lines and reads in the order they happen. */
async function watch(offset = 0, rotated = false) {
  const events: string[] = [];
  const lines = new LineReader(1024, (line) => events.push(line), () => events.push('dropped'));
  const file = await FileWatcher.open(await open(path, 'r'), offset, rotated, lines, (bytes) => events.push(`read ${bytes}`));
  opened.push(file);
  return { file, events };
}

const stat = (p = path) => statSync(p, { throwIfNoEntry: false });
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

describe('reading', () => {
  it('reads from the offset it was given while behind the size last seen, telling of each read before its lines', async () => {
    writeFileSync(path, 'a\nb\nc\n');
    const { file, events } = await watch(2);
    expect(file.read(Infinity)).toBe(true);
    expect(events).toEqual(['read 4', 'b', 'c']);
    appendFileSync(path, 'later\n');
    // Not until a look has seen it grow: the poll's stat decides what there is to read.
    file.read(Infinity);
    expect(events).toHaveLength(3);
    expect(await file.look()).toBeUndefined();
    file.read(Infinity);
    expect(events.slice(3)).toEqual(['read 6', 'later']);
    expect(file.offset).toBe(12);
  });

  it('stops when the budget runs out, before reading on: false until it has caught up', async () => {
    writeFileSync(path, `${'x'.repeat(99)}\n`.repeat((READ_BYTES * 1.5) / 100));
    const { file } = await watch();
    expect(file.read(1)).toBe(false);
    expect(file.offset).toBe(READ_BYTES);
    expect(file.read(1)).toBe(true);
    expect(file.offset).toBe(file.size);
  });
});

describe('copy-truncate', () => {
  it('a file smaller than what was read is read again from its start, fingerprint and all', async () => {
    writeFileSync(path, 'old-line-1\nold-line-2\n');
    const { file, events } = await watch();
    file.read(Infinity);
    truncateSync(path, 0);
    appendFileSync(path, 'new\n');
    expect(await file.look()).toBe(22);
    expect(file.offset).toBe(0);
    file.read(Infinity);
    expect(events.at(-1)).toBe('new');
    expect(file.position()).toEqual({ fingerprint: sha1('new\n'), fingerprintBytes: 4, offset: 4 });
  });

  it('growth, or the same size, is not a truncation', async () => {
    writeFileSync(path, 'a\n');
    const { file } = await watch();
    file.read(Infinity);
    expect(await file.look()).toBeUndefined();
    appendFileSync(path, 'b\n');
    expect(await file.look()).toBeUndefined();
    expect(file.size).toBe(4);
  });
});

describe('rotation', () => {
  it('is the file at the path while its device and inode are; not once renamed, replaced or gone', async () => {
    writeFileSync(path, 'a\n');
    const { file } = await watch();
    expect(file.isAt(stat())).toBe(true);
    renameSync(path, `${path}.1`);
    expect(file.isAt(stat())).toBe(false);
    writeFileSync(path, '');
    expect(file.isAt(stat())).toBe(false);
    expect(file.markRotated()).toBe(true);
    expect(file.markRotated()).toBe(false);
  });

  it('is finished ROTATION_QUIET_MS after the new file has a line, the wait starting again whenever it grew', async () => {
    writeFileSync(path, 'old-1\n');
    const { file, events } = await watch();
    file.read(Infinity);
    renameSync(path, `${path}.1`);
    file.markRotated();
    expect(file.finished(stat(), false, 0)).toBe(false);
    writeFileSync(path, '');
    expect(file.finished(stat(), false, 10)).toBe(false);
    // No wait until the new file has a line: until then every worker may still write here.
    expect(file.settling).toBe(false);

    writeFileSync(path, 'new-1\n');
    expect(file.finished(stat(), false, 1000)).toBe(false);
    expect(file.settling).toBe(true);
    appendFileSync(`${path}.1`, 'old-late\n');
    expect(file.finished(stat(), false, 1000 + ROTATION_QUIET_MS - 1)).toBe(false);
    expect(events.at(-1)).toBe('old-late');
    const grewAt = 1000 + ROTATION_QUIET_MS - 1;
    expect(file.finished(stat(), false, grewAt + ROTATION_QUIET_MS - 1)).toBe(false);
    expect(file.finished(stat(), false, grewAt + ROTATION_QUIET_MS)).toBe(true);
  });

  it('is finished at once when a newer rotated file waits to be read', async () => {
    writeFileSync(path, 'old-1\n');
    const { file } = await watch(0, true);
    expect(file.finished(undefined, true, 0)).toBe(true);
  });

  it('finishing drops an unfinished last line and says how long it was; closing keeps the position', async () => {
    writeFileSync(path, 'a\npart');
    const first = await watch();
    first.file.read(Infinity);
    expect(first.events).toEqual(['read 6', 'a']);
    expect(first.file.position()?.offset).toBe(2);
    expect(await first.file.finish()).toBe(4);

    const second = await watch();
    second.file.read(Infinity);
    await second.file.close();
    expect(second.file.position()?.offset).toBe(2);
  });
});
