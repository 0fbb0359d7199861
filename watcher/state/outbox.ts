// Release notices on their way from `ctl record` (another process) to the
// daemon's policy and delivery queue: one file per notice in
// CONTROL_DIR/outbox/, written whole (atomicFile.ts) and named by time, so a
// listing sorts oldest first. The daemon takes a few each tick and removes a
// file only once its notice is in the saved state: a crash in between
// announces it twice, never not at all. A file it cannot use is renamed
// *.rejected with a warning, so it is neither retried forever nor lost
// unseen.
import { randomUUID } from 'node:crypto';
import { readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { writeAtomic } from '../../common/atomicFile.js';
import { parseHistoryEntry, type HistoryEntry, type ParsedEntry } from '../history.js';
import { readBoundedFile } from './readFile.js';

export const OUTBOX_DIR = 'outbox';
/** Notices taken per tick: a burst is spread over a few seconds instead of stalling one tick. */
export const OUTBOX_BATCH = 20;
// An entry is well under 2 KB; anything much larger is not one.
const NOTICE_MAX_BYTES = 16 * 1024;
const REJECTED = '.rejected';

/** The entries Slack hears about: every step of a release, and a rollback that worked. */
export function isReleaseNotice(entry: HistoryEntry): boolean {
  return entry.action === 'release' || (entry.action === 'rollback' && entry.outcome === 'ok');
}

/** Leaves `entry` for the daemon; returns the file's path. */
export function postReleaseNotice(controlDir: string, entry: HistoryEntry): string {
  return writeAtomic(join(controlDir, OUTBOX_DIR), `${Date.now()}-${randomUUID()}.json`, `${JSON.stringify(entry)}\n`);
}

export interface OutboxNotice {
  name: string;
  entry: HistoryEntry;
}

export interface Outbox {
  /** The oldest notices waiting, at most OUTBOX_BATCH; unusable files are set aside, logged. */
  take(): OutboxNotice[];
  /** The notice is decided and saved: its file can go. */
  done(notice: OutboxNotice): void;
}

export function createOutbox(opts: { controlDir: string; logger: Logger }): Outbox {
  const log = opts.logger.child({ component: 'outbox' });
  const dir = join(opts.controlDir, OUTBOX_DIR);
  // Files that could be neither removed nor set aside: skipped for the rest of
  // this run rather than announced every second.
  const stuck = new Set<string>();
  let lastListError: string | undefined;

  function list(): string[] {
    try {
      const names = readdirSync(dir);
      lastListError = undefined;
      return names;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== lastListError) log.warn({ dir, code }, 'cannot list the release outbox');
      lastListError = code;
      return [];
    }
  }

  function settle(name: string, how: 'unlink' | 'reject'): void {
    const path = join(dir, name);
    try {
      if (how === 'unlink') unlinkSync(path);
      else renameSync(path, `${path}${REJECTED}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      stuck.add(name);
      log.error({ file: path, code }, 'cannot remove a release notice file; skipping it until restart');
    }
  }

  return {
    take() {
      // Temp files of a write in progress start with a dot.
      const names = list()
        .filter((name) => name.endsWith('.json') && !name.startsWith('.') && !stuck.has(name))
        .sort()
        .slice(0, OUTBOX_BATCH);
      const notices: OutboxNotice[] = [];
      for (const name of names) {
        const read = readBoundedFile(join(dir, name), NOTICE_MAX_BYTES);
        if (read.kind === 'missing') continue;
        const parsed = read.kind === 'ok' ? parseNotice(read.text) : { ok: false as const, reason: read.reason };
        if (parsed.ok) {
          notices.push({ name, entry: parsed.entry });
          continue;
        }
        log.warn({ file: join(dir, name), reason: parsed.reason }, `rejected a release notice file: renamed it *${REJECTED}`);
        settle(name, 'reject');
      }
      return notices;
    },
    done(notice) {
      settle(notice.name, 'unlink');
    },
  };
}

function parseNotice(text: string): ParsedEntry {
  const parsed = parseHistoryEntry(text);
  if (!parsed.ok || isReleaseNotice(parsed.entry)) return parsed;
  return { ok: false, reason: `${parsed.entry.action} ${parsed.entry.outcome} is not a release notice` };
}
