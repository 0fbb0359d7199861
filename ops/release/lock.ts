// One release or rollback at a time per stack: a lock file beside the env
// file, created exclusively. A lock whose process is gone (killed, machine
// rebooted) is taken over, so a crash never blocks the next release.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Holder {
  pid: number;
  host: string;
  action: string;
  since: string;
}

export type LockResult = { ok: true; release(): void } | { ok: false; holder: Holder | undefined };

export const lockPath = (envFile: string): string => `${envFile}.release.lock`;

export function acquireLock(file: string, action: string): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      const holder: Holder = { pid: process.pid, host: hostname(), action, since: new Date().toISOString() };
      writeSync(fd, `${JSON.stringify(holder)}\n`);
      closeSync(fd);
      return {
        ok: true,
        release: () => {
          try {
            unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      if (holder !== undefined && alive(holder)) return { ok: false, holder };
      // Stale (its process is gone) or unreadable: take it over once.
      try {
        unlinkSync(file);
      } catch {
        // Someone else took it over first; the next attempt says who.
      }
    }
  }
  return { ok: false, holder: readHolder(file) };
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return { pid: h.pid, host: h.host, action: String(h.action ?? '?'), since: String(h.since ?? '?') };
    }
  } catch {
    // Torn or foreign: treated as stale.
  }
  return undefined;
}

/** Another host's process cannot be checked: its lock holds until removed by hand. */
function alive(h: Holder): boolean {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
