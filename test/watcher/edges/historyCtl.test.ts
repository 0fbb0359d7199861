// `ctl record`, `ctl history` and the history entry of `ctl maintenance`, as
// the release CLI runs them: the built program against a temp CONTROL_DIR.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_FILE, readHistory } from '../../../watcher/state/history.js';
import { OUTBOX_DIR } from '../../../watcher/state/outbox.js';
import { runCtl } from './runCtl.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'history-ctl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ctl = (...args: string[]) => runCtl(dir, ...args);
const outbox = () => (existsSync(join(dir, OUTBOX_DIR)) ? readdirSync(join(dir, OUTBOX_DIR)) : []);

describe('ctl record and ctl history', () => {
  it('records entries, and history prints them as a table, newest last', async () => {
    const started = await ctl(
      ...['record', '--action', 'release', '--outcome', 'started', '--pool', 'green', '--from-pool', 'blue'],
      ...['--release', 'r2', '--from-release', 'r1', '--who', 'alice@host1', '--reason', 'weekly release'],
    );
    expect(started).toEqual({ code: 0, stdout: 'recorded: release started (blue → green, r1 → r2)\n', stderr: '' });
    const switched = await ctl('record', '--action', 'switch', '--outcome', 'ok', '--pool', 'blue', '--duration-ms', '4200');
    expect(switched.stdout).toBe('recorded: switch ok (blue)\n');

    const history = await ctl('history');
    expect(history.code).toBe(0);
    expect(history.stderr).toBe('');
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^TIME +ACTION +OUTCOME +POOL +RELEASE +WHO +REASON$/);
    const cells = (line: string) => line.split(/ {2,}/).slice(1);
    expect(cells(lines[1]!)).toEqual(['release', 'started', 'blue → green', 'r1 → r2', 'alice@host1', 'weekly release']);
    expect(cells(lines[2]!)).toEqual(['switch', 'ok', 'blue', '-', 'unknown', '(took 4 s)']);
    expect(lines[1]! < lines[2]!).toBe(true);
    // Aligned: every column starts where its heading does.
    for (const heading of ['ACTION', 'OUTCOME', 'POOL', 'RELEASE', 'WHO']) {
      const at = lines[0]!.indexOf(heading);
      expect(lines.slice(1).every((line) => line[at - 1] === ' ' && line[at - 2] === ' ' && line[at] !== ' ')).toBe(true);
    }
  });

  it('history --json prints the entries one per line, as recorded', async () => {
    await ctl('record', '--action', 'chaos_start', '--outcome', 'ok', '--pool', 'blue', '--who', 'ci');
    const r = await ctl('history', '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual(readHistory(dir).entries);
    expect(lines).toMatchObject([{ action: 'chaos_start', outcome: 'ok', pool: 'blue', who: 'ci' }]);
  });

  it('says there is no history yet, exit 0', async () => {
    expect(await ctl('history')).toEqual({ code: 0, stdout: 'no history yet\n', stderr: '' });
  });

  it('warns once per skipped line and prints the rest', async () => {
    await ctl('record', '--action', 'release', '--outcome', 'started', '--release', 'r2');
    appendFileSync(join(dir, HISTORY_FILE), '{"time": "2026-11-22T00:0');
    await ctl('record', '--action', 'release', '--outcome', 'refused', '--release', 'r2');
    const r = await ctl('history');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('ctl: history: skipped line 2: not JSON\n');
    expect(r.stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/)[2])).toEqual(['OUTCOME', 'started', 'refused']);
  });

  it.each([
    ['--action', ['--action', 'deploy', '--outcome', 'ok']],
    ['--action', ['--outcome', 'ok']],
    ['--outcome', ['--action', 'release', '--outcome', 'done']],
    ['--release', ['--action', 'release', '--outcome', 'ok', '--release', 'r 2']],
    ['--from-release', ['--action', 'release', '--outcome', 'ok', '--from-release', 'x'.repeat(65)]],
    ['--pool', ['--action', 'release', '--outcome', 'ok', '--pool', 'red']],
    ['--from-pool', ['--action', 'release', '--outcome', 'ok', '--from-pool', 'Blue']],
    ['--duration-ms', ['--action', 'release', '--outcome', 'ok', '--duration-ms', '4.2']],
    ['--reason', ['--action', 'release', '--outcome', 'ok', '--reason', 'bad\u001b[31m']],
    ['--who', ['--action', 'release', '--outcome', 'ok', '--who', 'zoë']],
  ])('rejects a bad %s with one line naming it, exit 2, recording nothing', async (option, args) => {
    const r = await ctl('record', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^ctl: ${option}: [^\\n]+\\n$`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects what record does not take, with the usage text', async () => {
    for (const args of [['--colour', 'blue'], ['now'], ['--action']]) {
      const r = await ctl('record', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^ctl: .+\nusage:/);
    }
    expect((await ctl('history', '--all')).code).toBe(2);
  });
});

describe('ctl record: release notices for the watcher', () => {
  it('leaves each release step in the outbox, as the entry it recorded', async () => {
    await ctl('record', '--action', 'release', '--outcome', 'blocked', '--release', 'r2', '--reason', 'canary <!channel> failed');
    const files = outbox();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{13}-[0-9a-f-]{36}\.json$/);
    const notice = JSON.parse(readFileSync(join(dir, OUTBOX_DIR, files[0]!), 'utf8'));
    expect(notice).toEqual(readHistory(dir).entries[0]);
  });

  it('leaves a rollback that worked, and nothing for other entries', async () => {
    await ctl('record', '--action', 'switch', '--outcome', 'ok', '--pool', 'green');
    await ctl('record', '--action', 'rollback', '--outcome', 'failed', '--pool', 'blue');
    await ctl('record', '--action', 'promotion', '--outcome', 'ok', '--pool', 'green');
    expect(outbox()).toEqual([]);
    await ctl('record', '--action', 'rollback', '--outcome', 'ok', '--pool', 'blue', '--from-pool', 'green');
    expect(outbox()).toHaveLength(1);
    expect(readHistory(dir).entries).toHaveLength(4);
  });
});

describe('ctl maintenance', () => {
  it('records who turned it on and off', async () => {
    expect((await ctl('maintenance', 'on', '--who', 'x')).code).toBe(0);
    expect((await ctl('maintenance', 'off')).code).toBe(0);
    expect(readHistory(dir).entries).toMatchObject([
      { action: 'maintenance_on', outcome: 'ok', who: 'x' },
      { action: 'maintenance_off', outcome: 'ok', who: 'unknown' },
    ]);
    expect(outbox()).toEqual([]);
  });

  it('rejects a bad --who before changing anything', async () => {
    const r = await ctl('maintenance', 'on', '--who', '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ctl: --who: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});
