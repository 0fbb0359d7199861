// The state file a restart resumes from: round trip, a corrupt or foreign file
// ignored with a warning, a failed save logged once and never fatal.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { assertWritable } from '../../../watcher/state/atomicFile.js';
import { createCheckpoint, STATE_FILE, type SavedState } from '../../../watcher/state/checkpoint.js';

const STATE: SavedState = {
  position: { fingerprint: 'ab12', fingerprintBytes: 256, offset: 4096 },
  detector: { servingPool: 'green', primaryPool: 'blue', usedSwitchIds: ['m1'], errorRateFiring: true },
  pending: [{ kind: 'failover', heldBack: 2, message: { text: 'Failover detected', blocks: [{ type: 'divider' }] } }],
};

let dir: string;
let logs: Array<{ level: number; msg: string; [k: string]: unknown }>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkpoint-'));
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const checkpoint = (at = dir) =>
  createCheckpoint({
    dir: at,
    clock: () => Date.UTC(2026, 10, 22),
    logger: createLogger('test', 'info', { write: (s: string) => void logs.push(JSON.parse(s)) }),
  });

describe('checkpoint', () => {
  it('loads what it saved, and nothing on a first start', () => {
    const c = checkpoint();
    expect(c.load()).toBeUndefined();
    expect(logs).toEqual([]);
    c.save(STATE);
    expect(checkpoint().load()).toEqual(STATE);
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
  });

  it('skips a state it already wrote, and writes again once the state changes', () => {
    const c = checkpoint();
    c.save(STATE);
    rmSync(join(dir, STATE_FILE));
    c.save(JSON.parse(JSON.stringify(STATE)));
    expect(readdirSync(dir)).toEqual([]);
    const moved = { ...STATE, position: { ...STATE.position, offset: 5000 } };
    c.save(moved);
    expect(checkpoint().load()).toEqual(moved);
  });

  it.each([
    ['not JSON', '{"version":1,', 'saved state is not JSON; starting afresh'],
    ['another version', JSON.stringify({ ...STATE, version: 2, savedAt: 'x' }), 'saved state is invalid; starting afresh'],
    ['a negative offset', JSON.stringify({ ...STATE, version: 1, savedAt: 'x', position: { ...STATE.position, offset: -1 } }), 'saved state is invalid; starting afresh'],
  ])('ignores a file with %s and says so', (_case, content, warning) => {
    writeFileSync(join(dir, STATE_FILE), content);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs.map((l) => l.msg)).toEqual([warning]);
  });

  it('logs a failed save once per distinct error, never throws, and says when saving works again', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const c = checkpoint(blocker);
    c.save(STATE);
    c.save(STATE);
    expect(logs.filter((l) => l.msg.startsWith('cannot save state'))).toHaveLength(1);
    rmSync(blocker);
    c.save(STATE);
    expect(logs.at(-1)?.msg).toBe('saving state works again');
    expect(checkpoint(blocker).load()).toEqual(STATE);
  });

  it('assertWritable throws with the reason for a directory that cannot be written, and leaves nothing behind', () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    expect(() => assertWritable(join(blocker, 'control'))).toThrow(/ENOTDIR|EEXIST/);
    assertWritable(join(dir, 'control'));
    expect(readdirSync(join(dir, 'control'))).toEqual([]);
  });
});
