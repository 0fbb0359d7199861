// The release outbox: ctl leaves one file per notice; the daemon takes the
// oldest few, sets aside (renames *.rejected, with a warning) what it cannot
// use, and removes a file only when told its notice is safe.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { HistoryEntry } from '../../../watcher/history.js';
import { createOutbox, OUTBOX_BATCH, OUTBOX_DIR, postReleaseNotice } from '../../../watcher/state/outbox.js';

let dir: string;
let logs: Array<{ level: string; msg: string; file?: string; reason?: string }>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const box = () => join(dir, OUTBOX_DIR);
const files = () => readdirSync(box()).sort();
const warnings = () => logs.filter((l) => l.level === 'warn');

function outbox() {
  const logger = createLogger('test', 'debug', { write: (s: string) => void logs.push(JSON.parse(s)) });
  return createOutbox({ controlDir: dir, logger });
}

const entry = (fields: Partial<HistoryEntry> = {}): HistoryEntry => ({
  time: '2026-11-22T00:06:32.123Z',
  action: 'release',
  outcome: 'started',
  release: 'r2',
  who: 'alice@host1',
  ...fields,
});

describe('outbox', () => {
  it('is empty, silently, without a directory', () => {
    expect(outbox().take()).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('gives the notices oldest first, and forgets one only when it is done', () => {
    mkdirSync(box());
    writeFileSync(join(box(), '2000-b.json'), JSON.stringify(entry({ outcome: 'promoted' })));
    writeFileSync(join(box(), '1000-a.json'), JSON.stringify(entry()));
    // A write in progress (atomicFile.ts's temp name) is not a notice yet.
    writeFileSync(join(box(), '.3000-c.json.1.x.tmp'), '{');
    const o = outbox();
    const taken = o.take();
    expect(taken).toEqual([
      { name: '1000-a.json', entry: entry() },
      { name: '2000-b.json', entry: entry({ outcome: 'promoted' }) },
    ]);
    expect(o.take()).toHaveLength(2);
    o.done(taken[0]!);
    expect(o.take().map((n) => n.name)).toEqual(['2000-b.json']);
    o.done(taken[0]!);
    expect(warnings()).toEqual([]);
  });

  it('reads what postReleaseNotice wrote', () => {
    const rollback = entry({ action: 'rollback', outcome: 'ok', pool: 'blue', fromPool: 'green' });
    postReleaseNotice(dir, rollback);
    expect(outbox().take()).toMatchObject([{ name: expect.stringMatching(/^\d{13}-[0-9a-f-]{36}\.json$/), entry: rollback }]);
  });

  it(`takes at most ${OUTBOX_BATCH} at a time`, () => {
    for (let i = 0; i < OUTBOX_BATCH + 5; i++) postReleaseNotice(dir, entry());
    const o = outbox();
    const first = o.take();
    expect(first).toHaveLength(OUTBOX_BATCH);
    first.forEach((n) => o.done(n));
    expect(o.take()).toHaveLength(5);
  });

  it.each<[string, string]>([
    ['not JSON', '{"time": "2026'],
    ['not an entry', JSON.stringify({ ...entry(), release: 'r 2' })],
    ['an entry Slack does not hear about', JSON.stringify(entry({ action: 'switch', outcome: 'ok' }))],
    ['too large', JSON.stringify({ ...entry(), padding: 'x'.repeat(20_000) })],
  ])('sets aside a file that is %s, with a warning, and gives the rest', (_, content) => {
    mkdirSync(box());
    writeFileSync(join(box(), '1000-bad.json'), content);
    postReleaseNotice(dir, entry());
    const o = outbox();
    expect(o.take()).toMatchObject([{ entry: entry() }]);
    expect(files()).toContain('1000-bad.json.rejected');
    expect(warnings()).toMatchObject([{ msg: 'rejected a release notice file: renamed it *.rejected', reason: expect.any(String) }]);
    expect(o.take()).toHaveLength(1);
    expect(warnings()).toHaveLength(1);
  });

  it('sets aside a FIFO without waiting on it', () => {
    mkdirSync(box());
    execFileSync('mkfifo', [join(box(), '1000-fifo.json')]);
    const started = Date.now();
    expect(outbox().take()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(500);
    expect(files()).toEqual(['1000-fifo.json.rejected']);
    expect(warnings()[0]?.reason).toBe('not a regular file but a FIFO');
  });
});
