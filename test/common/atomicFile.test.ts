// writeAtomic is durable as well as atomic: the new content reaches the disk
// before the rename, and the rename before it returns. A host crash cannot be
// staged in a test, so the test watches the calls that make it so.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeAtomic } from '../../common/atomicFile.js';

const calls = vi.hoisted(() => ({ log: [] as string[] }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fsyncSync = (fd: number) => {
    calls.log.push(`fsync ${fs.fstatSync(fd).isDirectory() ? 'directory' : `file of ${fs.fstatSync(fd).size} bytes`}`);
    fs.fsyncSync(fd);
  };
  const renameSync = (from: string, to: string) => {
    calls.log.push(`rename to ${to.split('/').at(-1)}`);
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, fsyncSync, renameSync }, fsyncSync, renameSync };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  calls.log.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeAtomic', () => {
  it('syncs the content before the rename and the directory after it', () => {
    const target = writeAtomic(dir, 'state.json', '{"version":2}\n');
    expect(basename(target)).toBe('state.json');
    expect(calls.log).toEqual(['fsync file of 14 bytes', 'rename to state.json', 'fsync directory']);
    expect(readFileSync(target, 'utf8')).toBe('{"version":2}\n');
  });
});
