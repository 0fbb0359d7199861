// The page's view of the audit trail: the latest entries, read again only
// when the file changed and at most once a second; never a throw.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createHistoryReader } from '../../../watcher/page/index.js';
import { appendHistory, HISTORY_FILE } from '../../../watcher/state/history.js';
import { type HistoryEntry } from '../../../watcher/history.js';

let dir: string;
let now: number;
const logs: string[] = [];
const reader = (limit?: number) =>
  createHistoryReader({
    dir,
    clock: () => now,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    limit,
  });

const entry = (i: number): HistoryEntry => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
  action: 'release',
  outcome: 'ok',
  pool: 'green',
  release: `v${i}`,
  who: 'alice@host1',
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'page-history-'));
  now = 1_700_000_000_000;
  logs.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createHistoryReader', () => {
  it('is an empty list while there is no file', () => {
    expect(reader()()).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('gives the last entries, oldest first', () => {
    for (let i = 0; i < 25; i++) appendHistory(dir, entry(i));
    expect(reader()().map((e) => e.release)).toEqual(Array.from({ length: 20 }, (_, i) => `v${i + 5}`));
    expect(reader(3)().map((e) => e.release)).toEqual(['v22', 'v23', 'v24']);
  });

  it('looks at the file at most once a second', () => {
    const read = reader();
    expect(read()).toEqual([]);
    appendHistory(dir, entry(1));
    now += 999;
    expect(read()).toEqual([]);
    now += 1;
    expect(read()).toEqual([entry(1)]);
  });

  it('reads the file again only when its size or mtime changed', () => {
    appendHistory(dir, entry(1));
    const file = join(dir, HISTORY_FILE);
    // Whole seconds: an mtime set back is exactly the one read.
    const mtime = 1_700_000_000;
    utimesSync(file, mtime, mtime);
    const read = reader();
    expect(read()).toEqual([entry(1)]);
    // Same size, same mtime, other content: the cached entries stand, so it was not read.
    writeFileSync(file, readFileSync(file, 'utf8').replace('v1', 'v9'));
    utimesSync(file, mtime, mtime);
    now += 1000;
    expect(read()).toEqual([entry(1)]);
    appendHistory(dir, entry(2));
    now += 1000;
    expect(read().map((e) => e.release)).toEqual(['v9', 'v2']);
  });

  it('never throws: an unreadable history is an empty list and one warning', () => {
    mkdirSync(join(dir, HISTORY_FILE));
    const read = reader();
    expect(read()).toEqual([]);
    now += 1000;
    expect(read()).toEqual([]);
    expect(logs.filter((line) => line.includes('cannot read the history'))).toHaveLength(1);
  });
});
