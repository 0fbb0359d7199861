import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBoundedFile } from '../../../watcher/state/readFile.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'readfile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readBoundedFile', () => {
  it('reads a regular file up to the limit, inclusive', () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'x'.repeat(16));
    expect(readBoundedFile(file, 16)).toEqual({ kind: 'ok', text: 'x'.repeat(16) });
  });

  it('reads an empty file as empty text', () => {
    writeFileSync(join(dir, 'f'), '');
    expect(readBoundedFile(join(dir, 'f'), 16)).toEqual({ kind: 'ok', text: '' });
  });

  it('follows a symlink to a regular file', () => {
    writeFileSync(join(dir, 'f'), 'on\n');
    symlinkSync(join(dir, 'f'), join(dir, 'link'));
    expect(readBoundedFile(join(dir, 'link'), 16)).toEqual({ kind: 'ok', text: 'on\n' });
  });

  it('is missing when nothing is there, or a dangling symlink', () => {
    expect(readBoundedFile(join(dir, 'absent'), 16)).toEqual({ kind: 'missing' });
    symlinkSync(join(dir, 'absent'), join(dir, 'dangling'));
    expect(readBoundedFile(join(dir, 'dangling'), 16)).toEqual({ kind: 'missing' });
  });

  it('rejects a file one byte over the limit', () => {
    writeFileSync(join(dir, 'f'), 'x'.repeat(17));
    expect(readBoundedFile(join(dir, 'f'), 16)).toEqual({ kind: 'rejected', reason: 'larger than 16 bytes' });
  });

  it.each([
    ['a FIFO', () => execFileSync('mkfifo', [join(dir, 'x')]), 'FIFO'],
    ['/dev/zero', () => symlinkSync('/dev/zero', join(dir, 'x')), 'character device'],
    ['a directory', () => mkdirSync(join(dir, 'x')), 'directory'],
  ])('rejects %s at once', (_, make, type) => {
    make();
    const started = Date.now();
    expect(readBoundedFile(join(dir, 'x'), 16)).toEqual({
      kind: 'rejected',
      reason: `not a regular file but a ${type}`,
    });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('rejects a path it cannot open, with the error code', () => {
    writeFileSync(join(dir, 'f'), 'x');
    expect(readBoundedFile(join(dir, 'f', 'below'), 16)).toEqual({
      kind: 'rejected',
      reason: 'cannot open it (ENOTDIR)',
    });
  });
});
