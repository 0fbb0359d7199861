// The audit trail: one JSON line per entry, appended and never rewritten; a
// torn or foreign line is skipped and reported, never fatal; the read is
// bounded to the end of the file.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendHistory, HISTORY_FILE, readHistory } from '../../../watcher/state/history.js';
import { historyEntrySchema, releaseId, type HistoryEntry } from '../../../watcher/history.js';
import { historyEntry } from '../core/records.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'history-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = () => join(dir, HISTORY_FILE);

const entry = historyEntry;

describe('appendHistory and readHistory', () => {
  it('round-trips entries, oldest first, one line each', () => {
    const first = entry();
    const second = entry({ outcome: 'promoted', reason: 'canary clean: 0 of 412 failed', durationMs: 252_000 });
    const third = { time: '2026-11-22T01:00:00+01:00', action: 'maintenance_on', outcome: 'ok', who: 'bob' } as const;
    for (const e of [first, second, third]) appendHistory(dir, e);
    expect(readHistory(dir)).toEqual({ entries: [first, second, third], skipped: [], cut: false });
    expect(readFileSync(file(), 'utf8').split('\n')).toHaveLength(4);
  });

  it('is an empty history when there is no file', () => {
    expect(readHistory(join(dir, 'nowhere'))).toEqual({ entries: [], skipped: [], cut: false });
  });

  it('skips a torn last line with its reason, and the next entry starts on a line of its own', () => {
    appendHistory(dir, entry());
    const torn = JSON.stringify(entry({ outcome: 'promoted' })).slice(0, 40);
    appendFileSync(file(), torn);
    appendHistory(dir, entry({ outcome: 'rolled_back' }));
    const lines = readFileSync(file(), 'utf8').split('\n');
    expect(lines[1]).toBe(torn);
    expect(readHistory(dir)).toEqual({
      entries: [entry(), entry({ outcome: 'rolled_back' })],
      skipped: [{ line: 2, reason: 'not JSON' }],
      cut: false,
    });
  });

  it('reports lines that are JSON but not an entry, by field, and keeps reading', () => {
    appendHistory(dir, entry());
    appendFileSync(file(), `${JSON.stringify({ ...entry(), pool: 'purple' })}\n\n${JSON.stringify({ ...entry(), who: '' })}\n`);
    appendHistory(dir, entry({ outcome: 'blocked' }));
    const { entries, skipped } = readHistory(dir);
    expect(entries.map((e) => e.outcome)).toEqual(['started', 'blocked']);
    expect(skipped).toEqual([
      { line: 2, reason: 'pool: expected "blue" or "green"' },
      { line: 3, reason: 'empty line' },
      { line: 4, reason: expect.stringMatching(/^who: expected 1 to 100 printable ASCII/) },
    ]);
  });

  it('reads only the end of a large file, dropping the line the cut falls in without reporting it', () => {
    for (let i = 0; i < 50; i++) appendHistory(dir, entry({ durationMs: i }));
    const lineBytes = Buffer.byteLength(`${JSON.stringify(entry({ durationMs: 10 }))}\n`);
    const { entries, skipped, cut } = readHistory(dir, lineBytes * 3 + 5);
    expect(cut).toBe(true);
    expect(skipped).toEqual([]);
    expect(entries.map((e) => e.durationMs)).toEqual([47, 48, 49]);
  });

  it('refuses a history file that is not a regular file, without waiting on it', () => {
    execFileSync('mkfifo', [file()]);
    expect(() => appendHistory(dir, entry())).toThrow(/not a regular file but a FIFO/);
    expect(() => readHistory(dir)).toThrow(/not a regular file but a FIFO/);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an unknown action', { action: 'deploy' }],
    ['an unknown outcome', { outcome: 'meh' }],
    ['a pool that is not ours', { pool: 'red' }],
    ['a release id with a space', { release: 'r 2' }],
    ['a release id starting with a dot', { fromRelease: '.r2' }],
    ['a release id of 65 characters', { release: 'r'.repeat(65) }],
    ['a reason of 301 characters', { reason: 'x'.repeat(301) }],
    ['a reason with a terminal escape', { reason: 'ok\u001b[2J' }],
    ['a reason with a newline', { reason: 'line one\nline two' }],
    ['a reason with a bidi override', { reason: 'abc\u202edef' }],
    ['no who', { who: '' }],
    ['a who of 101 characters', { who: 'w'.repeat(101) }],
    ['a non-ASCII who', { who: 'zoë' }],
    ['a negative duration', { durationMs: -1 }],
    ['a fractional duration', { durationMs: 1.5 }],
    ['a time that is not ISO 8601', { time: 'yesterday' }],
  ])('appendHistory rejects %s and writes nothing', (_, fields) => {
    expect(() => appendHistory(dir, { ...entry(), ...fields } as HistoryEntry)).toThrow(/^invalid history entry: /);
    expect(readHistory(dir).entries).toEqual([]);
  });

  it('accepts the limits', () => {
    const limits = entry({ release: 'A'.repeat(64), reason: 'é'.repeat(300), who: 'w'.repeat(100), durationMs: 0 });
    expect(historyEntrySchema.parse(limits)).toEqual(limits);
    expect(releaseId.safeParse('r2_2026-11-22.1').success).toBe(true);
  });

  it('starts an entry on a new line after a file that ends without one, even the first', () => {
    writeFileSync(file(), 'junk');
    appendHistory(dir, entry());
    expect(readFileSync(file(), 'utf8')).toBe(`junk\n${JSON.stringify(entry())}\n`);
  });
});
