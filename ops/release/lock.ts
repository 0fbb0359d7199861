// One release, rollback or switch at a time per stack: a lock file beside the
// env file. The holder's line is written to a temporary file first and
// link()ed into place, so the lock is never seen empty; link fails with EEXIST
// while anyone holds it. A stale lock (lockState.ts) is taken over, so a crash
// never blocks the next release.
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, futimesSync, linkSync, openSync, readSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { HEARTBEAT_MS, isStale, lockRefusal, parseHolder, type Here, type Holder, type Refused, type Seen } from './lockState.js';

export { lockRefusal } from './lockState.js';

export type LockResult = { ok: true; token: string; release(): void } | ({ ok: false } & Refused);

export const lockPath = (envFile: string): string => `${envFile}.release.lock`;

/**
 * The holder's token, in its environment: its children inherit it, so a
 * `make switch` or `make scale` a release's child runs goes on under the lock
 * its parent holds (withLock) instead of waiting for it forever.
 */
export const LOCK_TOKEN_ENV = 'RELEASE_LOCK_TOKEN';

export interface LockOptions {
  /** The clock stale heartbeats are judged by. */
  now?: () => number;
}

// A taker crashed while holding the takeover guard leaves a stale guard, taken
// over by a guard of its own; past this depth something is badly wrong.
const MAX_GUARDS = 2;

const here: Here = { host: hostname(), alive };

export function acquireLock(file: string, action: string, opts: LockOptions = {}): LockResult {
  const now = opts.now ?? Date.now;
  const token = randomUUID();
  const holder: Holder = { pid: process.pid, host: here.host, action, since: new Date().toISOString(), token };
  const tmp = `${file}.${token}.tmp`;
  const fd = openSync(tmp, 'wx', 0o644);
  let claimed: Claim;
  try {
    writeFileSync(fd, `${JSON.stringify(holder)}\n`);
    claimed = claim(file, tmp, fstatSync(fd).ino, now, 0);
  } catch (err) {
    closeSync(fd);
    throw err;
  } finally {
    removeIf(tmp, () => true);
  }
  if (claimed.ok) return hold(file, fd, token);
  closeSync(fd);
  return claimed;
}

/** True when the lock at `file` is the live one of the holder that handed out `token`. */
export function heldBy(file: string, token: string): boolean {
  const seen = look(file);
  return seen?.holder?.token === token && !isStale(seen, Date.now(), here);
}

type Claim = { ok: true } | ({ ok: false } & Refused);

function claim(path: string, tmp: string, ino: number, now: () => number, depth: number): Claim {
  // A few rounds: each lost race (released, or taken over, between two looks) costs one.
  for (let round = 0; round < 3; round++) {
    if (linked(tmp, path)) return { ok: true };
    const seen = look(path);
    if (seen === undefined) continue;
    if (depth === MAX_GUARDS || !isStale(seen, now(), here)) return refused(seen, false);
    // Two takers of one stale lock: only the one holding the guard may remove
    // it, and only if it is still the file judged stale (not a newer holder's).
    const guard = `${path}.takeover`;
    if (!claim(guard, tmp, ino, now, depth + 1).ok) return refused(seen, true);
    try {
      if (look(path)?.id === seen.id) unlinkSync(path);
    } finally {
      removeIf(guard, (found) => found === ino);
    }
  }
  const last = look(path);
  return last === undefined ? { ok: false, holder: undefined, heartbeatMs: undefined, takingOver: false } : refused(last, false);
}

const refused = (seen: Seen, takingOver: boolean): { ok: false } & Refused => ({
  ok: false,
  holder: seen.holder,
  heartbeatMs: seen.heartbeatMs,
  takingOver,
});

function hold(file: string, fd: number, token: string): LockResult {
  const ino = fstatSync(fd).ino;
  // Through the descriptor: it touches our file even if someone took it over meanwhile, never theirs.
  const heartbeat = setInterval(() => {
    const t = new Date();
    try {
      futimesSync(fd, t, t);
    } catch {
      // A missed beat only brings a takeover closer; crashing the release halfway would be worse.
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  process.env[LOCK_TOKEN_ENV] = token;
  let released = false;
  return {
    ok: true,
    token,
    release: () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      removeIf(file, (found) => found === ino);
      closeSync(fd);
      if (process.env[LOCK_TOKEN_ENV] === token) delete process.env[LOCK_TOKEN_ENV];
    },
  };
}

function linked(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the lock ${to}: ${(err as Error).message}`);
  }
}

/** One consistent look (one descriptor for stat and content); undefined when there is no file. */
function look(path: string): Seen | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { id: `${st.ino}:${st.ctimeNs}`, heartbeatMs: Number(st.mtimeMs), holder: parseHolder(buf.toString('utf8', 0, n)) };
  } finally {
    closeSync(fd);
  }
}

function removeIf(path: string, matches: (ino: number) => boolean): void {
  try {
    if (matches(statSync(path).ino)) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` under the lock beside `envFile`, or refuses (undefined) after
 * printing why. A release's own child (a drill's `make switch` run by a
 * release) inherits its token and goes on under its parent's lock.
 */
export async function withLock<T>(envFile: string, action: string, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; why: string }> {
  const file = lockPath(envFile);
  const inherited = process.env[LOCK_TOKEN_ENV];
  let lock: LockResult | undefined;
  if (inherited === undefined || !heldBy(file, inherited)) {
    lock = acquireLock(file, action);
    if (!lock.ok) return { ok: false, why: lockRefusal(file, lock, Date.now()) };
  }
  try {
    return { ok: true, value: await fn() };
  } finally {
    if (lock?.ok) lock.release();
  }
}
