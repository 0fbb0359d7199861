// The audit trail: one JSON line per release step, switch, chaos run or
// maintenance change, in CONTROL_DIR/history.jsonl, written through `ctl`
// (the release CLI runs `ctl record`) and read by `ctl history`.
//
// Append-only: each entry is one write(2) with O_APPEND, so writers in other
// processes never interleave and nothing written is rewritten. A writer
// killed mid-line leaves a torn last line: the next append starts on a line of
// its own, and readers skip (and report) any line they cannot use instead of
// failing, since anyone who can write CONTROL_DIR can write this file.
//
// `pool` and `release` are the action's target (the pool a release goes to,
// the pool a rollback returns to); `fromPool` and `fromRelease` what served
// before it.
import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { historyEntrySchema, issueOf, parseHistoryEntry, type HistoryEntry } from '../history.js';
import { fileType, readFileTail } from './readFile.js';

export const HISTORY_FILE = 'history.jsonl';
/** The file only grows: readers look at its end, where the latest entries are. */
export const HISTORY_READ_MAX_BYTES = 4 * 1024 * 1024;
/**
 * Appends `entry` as one line, with fsync: the trail outlives a host crash.
 * Throws on an invalid entry, and on a history file that is not a regular file.
 */
export function appendHistory(dir: string, entry: HistoryEntry): HistoryEntry {
  const result = historyEntrySchema.safeParse(entry);
  if (!result.success) throw new Error(`invalid history entry: ${issueOf(result.error)}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, HISTORY_FILE);
  // Read and append: the last byte says whether the previous write was torn.
  // O_NONBLOCK: a FIFO put in its place is refused below, not waited on.
  const fd = openSync(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o644);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new Error(`${file} is not a regular file but a ${fileType(stats)}`);
    const line = `${JSON.stringify(result.data)}\n`;
    writeSync(fd, stats.size > 0 && lastByte(fd, stats.size) !== 0x0a ? `\n${line}` : line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return result.data;
}

function lastByte(fd: number, size: number): number | undefined {
  const byte = Buffer.alloc(1);
  return readSync(fd, byte, 0, 1, size - 1) === 1 ? byte[0] : undefined;
}

export interface History {
  /** Oldest first. */
  entries: HistoryEntry[];
  /** Lines that are not an entry; `line` counts from the first line read. */
  skipped: Array<{ line: number; reason: string }>;
  /** The file is larger than was read: older entries are left out. */
  cut: boolean;
}

/** The entries at the end of the history, at most `maxBytes` of it; no file is an empty history. */
export function readHistory(dir: string, maxBytes = HISTORY_READ_MAX_BYTES): History {
  const file = join(dir, HISTORY_FILE);
  const read = readFileTail(file, maxBytes);
  if (read.kind === 'missing') return { entries: [], skipped: [], cut: false };
  if (read.kind === 'rejected') throw new Error(`cannot read ${file}: ${read.reason}`);
  let text = read.text;
  // A cut starts mid-line: that line is not a torn write, only the edge of the read.
  if (read.cut) text = text.slice(text.indexOf('\n') + 1 || text.length);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const history: History = { entries: [], skipped: [], cut: read.cut };
  lines.forEach((line, i) => {
    const parsed = line === '' ? { ok: false as const, reason: 'empty line' } : parseHistoryEntry(line);
    if (parsed.ok) history.entries.push(parsed.entry);
    else history.skipped.push({ line: i + 1, reason: parsed.reason });
  });
  return history;
}
