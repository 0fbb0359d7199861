import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOCK_TOKEN_ENV, acquireLock, heldBy, lockRefusal, type LockResult } from '../../ops/release/lock.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bg-lock-'));
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid;
const holderLine = (h: { pid: number; host: string; action?: string; since?: string }) =>
  JSON.stringify({ action: 'release', since: 'then', ...h });
const inAMinute = () => Date.now() + 61_000;
const inHalfAMinute = () => Date.now() + 30_000;

// Every lock a test takes, released after it: an open descriptor and a heartbeat each.
const taken: LockResult[] = [];
const take = (...args: Parameters<typeof acquireLock>): LockResult => {
  const lock = acquireLock(...args);
  taken.push(lock);
  return lock;
};
afterEach(() => {
  for (const lock of taken.splice(0)) if (lock.ok) lock.release();
  vi.useRealTimers();
});

describe('release lock', () => {
  it('lets one holder in at a time and frees the lock on release', () => {
    const file = path.join(tmp(), '.env.release.lock');
    const first = take(file, 'release');
    expect(first.ok).toBe(true);
    expect(take(file, 'rollback')).toMatchObject({ ok: false, holder: { pid: process.pid, host: hostname(), action: 'release' } });
    if (first.ok) first.release();
    expect(existsSync(file)).toBe(false);
    expect(take(file, 'rollback').ok).toBe(true);
  });

  it('does not take over an empty or half-written lock while it is fresh: its holder may be writing it', () => {
    const file = path.join(tmp(), 'lock');
    for (const partial of ['', '{"pid":12']) {
      writeFileSync(file, partial);
      expect(take(file, 'release')).toMatchObject({ ok: false, holder: undefined });
      expect(take(file, 'release', { now: inHalfAMinute }).ok).toBe(false);
    }
    expect(take(file, 'release', { now: inAMinute }).ok).toBe(true);
  });

  it('takes over a lock of this host whose process is gone at once, even with a fresh heartbeat, and leaves nothing beside it', () => {
    const dir = tmp();
    const file = path.join(dir, 'lock');
    writeFileSync(file, holderLine({ pid: deadPid(), host: hostname() }));
    expect(take(file, 'release').ok).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, action: 'release' });
    expect(readdirSync(dir)).toEqual(['lock']);
  });

  it('judges a lock from another host by its heartbeat: held while fresh, taken over after a minute without one', () => {
    const file = path.join(tmp(), 'lock');
    writeFileSync(file, holderLine({ pid: 1, host: 'elsewhere' }));
    expect(take(file, 'release', { now: inHalfAMinute })).toMatchObject({ ok: false, holder: { host: 'elsewhere' } });
    expect(take(file, 'release', { now: inAMinute }).ok).toBe(true);
  });

  it('keeps its heartbeat going while held, so other hosts do not take it over', () => {
    vi.useFakeTimers();
    const file = path.join(tmp(), 'lock');
    expect(take(file, 'release').ok).toBe(true);
    const longAgo = new Date(Date.now() - 50_000);
    utimesSync(file, longAgo, longAgo);
    vi.advanceTimersByTime(5_000);
    expect(statSync(file).mtimeMs).toBeGreaterThan(Date.now() - 1_000);
  });

  it('two takers of one stale lock: only one wins, and the loser leaves the winner’s lock alone', () => {
    const file = path.join(tmp(), 'lock');
    writeFileSync(file, holderLine({ pid: deadPid(), host: hostname() }));
    // The second taker runs entirely inside the first one's clock read: after
    // the first saw the stale lock, before it acted on it.
    let second: LockResult | undefined;
    const first = take(file, 'release', {
      now: () => {
        second ??= take(file, 'rollback');
        return Date.now();
      },
    });
    expect(second?.ok).toBe(true);
    expect(first).toMatchObject({ ok: false, holder: { pid: process.pid, action: 'rollback' } });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ action: 'rollback' });
  });

  it('waits for a takeover in progress, and gets past a guard its crashed taker left', () => {
    const file = path.join(tmp(), 'lock');
    writeFileSync(file, holderLine({ pid: deadPid(), host: hostname() }));
    writeFileSync(`${file}.takeover`, holderLine({ pid: 1, host: 'elsewhere' }));
    const waiting = take(file, 'release');
    expect(waiting).toMatchObject({ ok: false, takingOver: true });
    if (!waiting.ok) expect(lockRefusal(file, waiting, Date.now())).toMatch(/is stale and another process is taking it over/);
    writeFileSync(`${file}.takeover`, holderLine({ pid: deadPid(), host: hostname() }));
    expect(take(file, 'release').ok).toBe(true);
  });

  it('on release removes only its own lock, not the one that replaced it', () => {
    const file = path.join(tmp(), 'lock');
    const lock = take(file, 'release');
    unlinkSync(file);
    writeFileSync(file, holderLine({ pid: 1, host: 'elsewhere' }));
    if (lock.ok) lock.release();
    expect(readFileSync(file, 'utf8')).toContain('elsewhere');
  });

  it('hands its children the token that proves the lock is held, and takes it back on release', () => {
    const file = path.join(tmp(), 'lock');
    const lock = take(file, 'release');
    if (!lock.ok) throw new Error('not taken');
    expect(process.env[LOCK_TOKEN_ENV]).toBe(lock.token);
    expect(heldBy(file, lock.token)).toBe(true);
    expect(heldBy(file, 'someone else')).toBe(false);
    lock.release();
    expect(process.env[LOCK_TOKEN_ENV]).toBeUndefined();
    expect(heldBy(file, lock.token)).toBe(false);
  });

  it('refuses in one line that names the lock file, its holder, its heartbeat and how to clear it', () => {
    const file = path.join(tmp(), '.env.release.lock');
    writeFileSync(file, holderLine({ pid: 4242, host: 'elsewhere', since: '2025-01-02T03:04:05.000Z' }));
    const now = statSync(file).mtimeMs + 7_000;
    const refused = take(file, 'rollback', { now: () => now });
    if (refused.ok) throw new Error('taken');
    expect(lockRefusal(file, refused, now)).toBe(
      `a release is already running (pid 4242 on elsewhere, since 2025-01-02T03:04:05.000Z, last heartbeat 7 s ago; lock ${file}); ` +
        `wait for it or Ctrl-C it; if you are sure nothing runs, remove ${file}`,
    );
    writeFileSync(file, '');
    const unreadable = take(file, 'rollback');
    if (unreadable.ok) throw new Error('taken');
    expect(lockRefusal(file, unreadable, Date.now())).toMatch(new RegExp(`^the lock ${file} is held but unreadable .*remove ${file}$`));
  });
});
