import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../ops/release/lock.js';
import { setEnvValues } from '../../ops/release/envFile.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bg-lock-'));

describe('release lock', () => {
  it('lets one holder in at a time and frees the lock on release', () => {
    const file = path.join(tmp(), '.env.release.lock');
    const first = acquireLock(file, 'release');
    expect(first.ok).toBe(true);
    const second = acquireLock(file, 'rollback');
    expect(second).toMatchObject({ ok: false, holder: { pid: process.pid, action: 'release' } });
    if (first.ok) first.release();
    expect(existsSync(file)).toBe(false);
    expect(acquireLock(file, 'rollback').ok).toBe(true);
  });

  it('takes over a lock whose process is gone, or that is unreadable', () => {
    const file = path.join(tmp(), 'lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    writeFileSync(file, JSON.stringify({ pid: dead, host: hostname(), action: 'release', since: 'then' }));
    const taken = acquireLock(file, 'release');
    expect(taken.ok).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid });
    writeFileSync(file, '{"pi');
    expect(acquireLock(file, 'release').ok).toBe(true);
  });

  it('keeps a lock held from another host: its process cannot be checked from here', () => {
    const file = path.join(tmp(), 'lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', action: 'release', since: 'then' }));
    expect(acquireLock(file, 'release')).toMatchObject({ ok: false, holder: { host: 'elsewhere' } });
  });
});

describe('env file updates', () => {
  it('replaces the last line of a key, appends a missing one and keeps everything else', () => {
    const file = path.join(tmp(), '.env');
    writeFileSync(file, '# comment\nGREEN_IMAGE=\nRELEASE_ID_GREEN=old\nRELEASE_ID_GREEN=older\nOTHER=x\n');
    setEnvValues(file, { GREEN_IMAGE: 'bluegreen-node:r2', RELEASE_ID_GREEN: 'r2', NEW_KEY: 'v' });
    expect(readFileSync(file, 'utf8')).toBe('# comment\nGREEN_IMAGE=bluegreen-node:r2\nRELEASE_ID_GREEN=old\nRELEASE_ID_GREEN=r2\nOTHER=x\nNEW_KEY=v\n');
  });

  it('creates the file when there is none', () => {
    const file = path.join(tmp(), '.env');
    setEnvValues(file, { A: '1' });
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
  });
});
