// What a lock file says and whether it still holds: pure, so each rule is
// tested with a chosen clock. The file's mtime is its heartbeat: the holder
// touches it every HEARTBEAT_MS, which works across hosts where a pid cannot
// be checked and never rewrites the holder's line.

export const HEARTBEAT_MS = 5_000;
/** Twelve missed heartbeats: a holder that silent is gone (crashed, or its host is). */
export const STALE_AFTER_MS = 60_000;

export interface Holder {
  pid: number;
  host: string;
  action: string;
  since: string;
  /** Lets the holder's own children (a release's switch) run under its lock. */
  token?: string;
}

/** One look at a lock file: `id` changes whenever the file is replaced or touched. */
export interface Seen {
  id: string;
  holder: Holder | undefined;
  heartbeatMs: number;
}

export interface Here {
  host: string;
  alive(pid: number): boolean;
}

export function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return {
        pid: h.pid,
        host: h.host,
        action: String(h.action ?? '?'),
        since: String(h.since ?? '?'),
        ...(typeof h.token === 'string' ? { token: h.token } : {}),
      };
    }
  } catch {
    // Empty, torn or foreign: judged by its age alone.
  }
  return undefined;
}

/**
 * Stale: no heartbeat for STALE_AFTER_MS (any host, and an unreadable file
 * too: it may be mid-write, so only its age can tell), or a holder on this
 * host whose process is gone, at once.
 */
export function isStale(seen: Seen, now: number, here: Here): boolean {
  if (now - seen.heartbeatMs > STALE_AFTER_MS) return true;
  const h = seen.holder;
  return h !== undefined && h.host === here.host && !here.alive(h.pid);
}

export interface Refused {
  holder: Holder | undefined;
  /** Undefined when the file kept changing under us and no single look holds. */
  heartbeatMs: number | undefined;
  /** Stale, but another process is taking it over right now. */
  takingOver: boolean;
}

/** The one-line refusal: which file, who holds it, and how to clear it. */
export function lockRefusal(file: string, r: Refused, now: number): string {
  const clear = `if you are sure nothing runs, remove ${file}`;
  if (r.heartbeatMs === undefined) return `the lock ${file} kept changing while being taken; try again`;
  const beat = `last heartbeat ${Math.max(0, Math.round((now - r.heartbeatMs) / 1000))} s ago`;
  if (r.takingOver) return `the lock ${file} is stale and another process is taking it over (${beat}); try again`;
  const h = r.holder;
  if (h === undefined) {
    return `the lock ${file} is held but unreadable (being written, or not a lock; ${beat}); it is taken over ${STALE_AFTER_MS / 1000} s after its last change, or ${clear}`;
  }
  return `a ${h.action} is already running (pid ${h.pid} on ${h.host}, since ${h.since}, ${beat}; lock ${file}); wait for it or Ctrl-C it; ${clear}`;
}
