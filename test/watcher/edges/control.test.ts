import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import {
  announcePlannedSwitch,
  createControl,
  MAINTENANCE_FILE,
  PLANNED_SWITCH_FILE,
  readPublishedPool,
  withdrawPlannedSwitch,
  writeMaintenance,
} from '../../../watcher/state/control.js';
import { runCtl } from './runCtl.js';

let dir: string;
let now: number;
let logs: Array<{ level: string; msg: string; maintenance?: boolean; error?: string }>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'control-'));
  now = 1_800_000_000_000;
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function control(defaultMaintenance = false) {
  const logger = createLogger('test', 'debug', { write: (s: string) => void logs.push(JSON.parse(s)) });
  return createControl({ dir, defaultMaintenance, clock: () => now, logger });
}

describe('maintenance', () => {
  it('follows MAINTENANCE_MODE while there is no file', () => {
    expect(control(false).maintenance()).toBe(false);
    expect(control(true).maintenance()).toBe(true);
  });

  it('the file overrides MAINTENANCE_MODE at run time, and each change is logged once', () => {
    const c = control(false);
    expect(c.maintenance()).toBe(false);
    writeMaintenance(dir, true);
    expect(c.maintenance()).toBe(true);
    expect(c.maintenance()).toBe(true);
    writeMaintenance(dir, false);
    expect(c.maintenance()).toBe(false);
    expect(logs.filter((l) => l.msg.startsWith('maintenance mode')).map((l) => l.maintenance)).toEqual([
      false,
      true,
      false,
    ]);
  });

  it('ignores (with a warning) content other than on/off', () => {
    writeFileSync(join(dir, MAINTENANCE_FILE), 'maybe\n');
    expect(control(true).maintenance()).toBe(true);
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('maintenance file'))).toBe(true);
  });

  it('writes atomically: no temp file is left behind', () => {
    writeMaintenance(dir, true);
    expect(readdirSync(dir)).toEqual([MAINTENANCE_FILE]);
    expect(readFileSync(join(dir, MAINTENANCE_FILE), 'utf8')).toBe('on\n');
  });
});

describe('planned switch', () => {
  it('reads back what was announced until it expires', () => {
    const marker = announcePlannedSwitch(dir, { from: 'blue', to: 'green', ttlMs: 120_000, now });
    const c = control();
    expect(c.plannedSwitch()).toEqual(marker);
    expect(marker).toMatchObject({ from: 'blue', to: 'green', createdAt: now, expiresAt: now + 120_000 });
    now += 119_999;
    expect(c.plannedSwitch()).toEqual(marker);
    now += 1;
    expect(c.plannedSwitch()).toBeUndefined();
  });

  it('keeps `from` optional', () => {
    announcePlannedSwitch(dir, { from: undefined, to: 'blue', ttlMs: 1000, now });
    expect(control().plannedSwitch()).toMatchObject({ from: undefined, to: 'blue' });
  });

  it('is undefined without a marker, silently', () => {
    expect(control().plannedSwitch()).toBeUndefined();
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('is withdrawn at once, and withdrawing none is not an error', () => {
    announcePlannedSwitch(dir, { from: 'blue', to: 'green', ttlMs: 120_000, now });
    const c = control();
    expect(c.plannedSwitch()).toMatchObject({ to: 'green' });
    expect(withdrawPlannedSwitch(dir)).toBe(true);
    expect(c.plannedSwitch()).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    expect(withdrawPlannedSwitch(dir)).toBe(false);
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it.each([
    ['not JSON', '{"id": "x", '],
    ['wrong shape', '{"id": "x", "to": "green", "createdAt": "yesterday", "expiresAt": 1}'],
  ])('ignores a corrupt marker (%s) with a warning', (_, content) => {
    writeFileSync(join(dir, PLANNED_SWITCH_FILE), content);
    expect(control().plannedSwitch()).toBeUndefined();
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'ignoring corrupt planned-switch marker')).toBe(true);
  });

  // Its id would go into the checkpoint's used ids, which keep at most 64 characters.
  it('ignores a marker whose id the checkpoint could not keep, saying which field', () => {
    const marker = { id: 'x'.repeat(65), to: 'green', createdAt: now, expiresAt: now + 60_000 };
    writeFileSync(join(dir, PLANNED_SWITCH_FILE), JSON.stringify(marker));
    expect(control().plannedSwitch()).toBeUndefined();
    expect(logs.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ msg: 'ignoring corrupt planned-switch marker', error: expect.stringMatching(/^id: .*64/) }),
    ]);
    writeFileSync(join(dir, PLANNED_SWITCH_FILE), JSON.stringify({ ...marker, id: 'x'.repeat(64) }));
    expect(control().plannedSwitch()).toMatchObject({ id: 'x'.repeat(64) });
  });

  it.each([
    ['a target that is not a pool', { from: 'blue', to: 'purple', ttlMs: 1000 }, /^planned switch not announced: to: /],
    ['a TTL that is not a number', { from: undefined, to: 'green', ttlMs: Number.NaN }, /^planned switch not announced: expiresAt: /],
  ])('refuses to announce a marker it would not read back (%s), and writes nothing', (_, sw, error) => {
    expect(() => announcePlannedSwitch(dir, { ...sw, now })).toThrow(error);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('untrusted control files', () => {
  const warnings = () => logs.filter((l) => l.level === 'warn').map((l) => l.msg);
  const writers: Array<{ kill(): void }> = [];
  afterEach(() => writers.splice(0).forEach((w) => w.kill()));

  /**
   * A FIFO whose writer turns up after a second: a blocking read would wait for
   * it and read `content`, so a regression fails the test instead of hanging it.
   */
  function fifo(name: string, content: string): void {
    const path = join(dir, name);
    execFileSync('mkfifo', [path]);
    writers.push(spawn('sh', ['-c', `sleep 1; printf '%s' '${content}' > '${path}'`], { stdio: 'ignore' }));
  }

  it('ignores a FIFO as the maintenance file, with one warning, without waiting for a writer', () => {
    fifo(MAINTENANCE_FILE, 'on');
    const c = control(false);
    const started = Date.now();
    expect(c.maintenance()).toBe(false);
    expect(c.maintenance()).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
    expect(warnings()).toEqual(['ignoring control file: not a regular file but a FIFO']);
  });

  it('ignores a symlink to /dev/zero as the maintenance file', () => {
    symlinkSync('/dev/zero', join(dir, MAINTENANCE_FILE));
    expect(control(true).maintenance()).toBe(true);
    expect(warnings()).toEqual(['ignoring control file: not a regular file but a character device']);
  });

  it('ignores an oversized maintenance file, whatever it starts with', () => {
    writeFileSync(join(dir, MAINTENANCE_FILE), `on${' '.repeat(8192)}\n`);
    expect(control(false).maintenance()).toBe(false);
    expect(warnings()).toEqual(['ignoring control file: larger than 4096 bytes']);
  });

  it('ignores a FIFO as the planned-switch marker', () => {
    fifo(PLANNED_SWITCH_FILE, JSON.stringify({ id: 'x', to: 'green', createdAt: now, expiresAt: now + 60_000 }));
    const started = Date.now();
    expect(control().plannedSwitch()).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(500);
    expect(warnings()).toEqual(['ignoring control file: not a regular file but a FIFO']);
  });

  it.each([
    ['to', { to: 'purple', from: 'blue' }],
    ['from', { to: 'green', from: 'purple' }],
  ])('ignores a marker whose `%s` is not a pool', (_, pools) => {
    const marker = { id: 'x', ...pools, createdAt: now, expiresAt: now + 60_000 };
    writeFileSync(join(dir, PLANNED_SWITCH_FILE), JSON.stringify(marker));
    expect(control().plannedSwitch()).toBeUndefined();
    expect(warnings()).toEqual(['ignoring corrupt planned-switch marker']);
  });
});

describe('ctl CLI (dist/watcher/operator/ctl.js)', () => {
  const run = (...args: string[]) => runCtl(dir, ...args);

  it('maintenance on|off writes the file the daemon reads', async () => {
    expect((await run('maintenance', 'on')).code).toBe(0);
    expect(control().maintenance()).toBe(true);
    expect((await run('maintenance', 'off')).code).toBe(0);
    expect(control(true).maintenance()).toBe(false);
  });

  it('planned-switch writes a marker with the TTL asked for', async () => {
    const before = Date.now();
    const r = await run('planned-switch', 'green', '--from', 'blue', '--ttl-sec', '30');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('planned switch to green from blue');
    const marker = JSON.parse(readFileSync(join(dir, PLANNED_SWITCH_FILE), 'utf8'));
    expect(marker).toMatchObject({ from: 'blue', to: 'green' });
    expect(marker.expiresAt - marker.createdAt).toBe(30_000);
    expect(marker.createdAt).toBeGreaterThanOrEqual(before);
  });

  it('planned-switch --cancel withdraws the marker, and is idempotent', async () => {
    expect((await run('planned-switch', 'green')).code).toBe(0);
    const first = await run('planned-switch', '--cancel');
    expect(first).toMatchObject({ code: 0, stdout: expect.stringContaining('planned switch withdrawn') });
    expect(readdirSync(dir)).toEqual([]);
    const again = await run('planned-switch', '--cancel');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('no planned switch to withdraw') });
  });

  it.each([
    [[]],
    [['reboot']],
    [['maintenance']],
    [['maintenance', 'yes']],
    [['planned-switch']],
    [['planned-switch', 'red']],
    [['planned-switch', 'green', '--from', 'green']],
    [['planned-switch', 'green', '--ttl-sec', 'soon']],
    [['planned-switch', 'green', '--ttl-sec', '0']],
    [['planned-switch', 'green', '--colour', 'blue']],
    [['planned-switch', 'green', '--cancel']],
    [['planned-switch', '--cancel', '--from', 'blue']],
    [['stats', 'now']],
  ])('rejects %j with a usage error, exit 2', async (args) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ctl: .+\nusage:/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stats says clearly when the watcher is not reachable, exit 1', async () => {
    const r = await run('stats');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ctl: cannot reach the watcher at http:\/\/127\.0\.0\.1:1\/stats/);
  });
});

describe('published pool', () => {
  const read = (content?: string) => {
    const file = join(dir, 'active-pool');
    if (content !== undefined) writeFileSync(file, content);
    const logger = createLogger('test', 'debug', { write: (s: string) => void logs.push(JSON.parse(s)) });
    return readPublishedPool(file, logger);
  };

  it('reads the pool Nginx wrote, ignoring the newline', () => {
    expect(read('green\n')).toBe('green');
  });

  it('is undefined, silently, when Nginx has published nothing', () => {
    expect(read()).toBeUndefined();
    expect(logs).toEqual([]);
  });

  it('ignores a published pool that is a symlink to /dev/zero, with a warning', () => {
    const file = join(dir, 'active-pool');
    symlinkSync('/dev/zero', file);
    const logger = createLogger('test', 'debug', { write: (s: string) => void logs.push(JSON.parse(s)) });
    expect(readPublishedPool(file, logger)).toBeUndefined();
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('character device') })]);
  });

  it('ignores anything but a known pool, with a warning', () => {
    expect(read('purple\n')).toBeUndefined();
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('published pool') })]);
  });
});
