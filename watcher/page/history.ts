// The audit trail's latest entries for the status page, which asks on every
// push: the file is read again only when its size or mtime changed, and
// looked at no more than once a second, so a burst of pushes costs nothing.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { HISTORY_FILE, readHistory } from '../state/history.js';
import { type HistoryEntry } from '../history.js';
import type { Clock } from '../types.js';

export const HISTORY_SHOWN = 20;
const RECHECK_MS = 1000;
// An entry is at most ~2 KB (state/history.ts bounds each field): the end of
// the file holds the last entries with room to spare for a few skipped lines.
const TAIL_BYTES = 64 * 1024;

export interface HistoryReaderOptions {
  /** CONTROL_DIR, where history.jsonl is. */
  dir: string;
  clock: Clock;
  logger: Logger;
  /** How many of the latest entries; HISTORY_SHOWN by default. */
  limit?: number;
}

/** Returns a function giving the latest entries, oldest first; it never throws, and a missing file is no entry. */
export function createHistoryReader(opts: HistoryReaderOptions): () => HistoryEntry[] {
  const { dir, clock } = opts;
  const limit = opts.limit ?? HISTORY_SHOWN;
  const file = join(dir, HISTORY_FILE);
  const log = opts.logger.child({ component: 'page' });
  let entries: HistoryEntry[] = [];
  let version: string | undefined;
  let checkedAt = -Infinity;
  // The same failure on every check would be a log line a second.
  let lastProblem: string | undefined;

  function problem(reason: string): void {
    if (reason !== lastProblem) log.warn({ file, reason }, 'status page cannot read the history');
    lastProblem = reason;
  }

  function refresh(): void {
    let seen: string;
    try {
      const stats = statSync(file);
      seen = `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') problem(`cannot stat it (${code})`);
      entries = [];
      version = undefined;
      return;
    }
    if (seen === version) return;
    try {
      entries = readHistory(dir, TAIL_BYTES).entries.slice(-limit);
      version = seen;
      lastProblem = undefined;
    } catch (err) {
      problem((err as Error).message);
      entries = [];
      version = undefined;
    }
  }

  return () => {
    const now = clock();
    if (now - checkedAt >= RECHECK_MS || now < checkedAt) {
      checkedAt = now;
      refresh();
    }
    return entries;
  };
}
