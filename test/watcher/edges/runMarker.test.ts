import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { RUN_MARKER, startRunMarker } from '../../../watcher/state/runMarker.js';

const T0 = 1_700_000_000_000;
// utimes and the file system may keep whole seconds only.
const MTIME_TOLERANCE_MS = 1000;

let dir: string;
let logs: string[];
let now: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'run-marker-'));
  logs = [];
  now = T0;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function start(at = dir) {
  return startRunMarker({
    dir: at,
    clock: () => now,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
  });
}

const marker = () => join(dir, RUN_MARKER);
const warnings = () => logs.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'warn');

describe('run marker', () => {
  it('reports nothing on a fresh dir and creates the marker, stamped with the clock', () => {
    const run = start();
    expect(run.uncleanSince).toBeUndefined();
    expect(existsSync(marker())).toBe(true);
    expect(Math.abs(statSync(marker()).mtimeMs - T0)).toBeLessThanOrEqual(MTIME_TOLERANCE_MS);
    expect(warnings()).toEqual([]);
  });

  it('reports the last touch of a run that did not remove its marker', () => {
    const first = start();
    now = T0 + 5_000;
    first.touch();
    now = T0 + 9_000;
    first.touch();
    // No remove(): the process died. The next start comes much later.
    now = T0 + 3_600_000;
    const second = start();
    expect(second.uncleanSince).toBeDefined();
    expect(Math.abs(second.uncleanSince! - (T0 + 9_000))).toBeLessThanOrEqual(MTIME_TOLERANCE_MS);
    expect(Number.isInteger(second.uncleanSince)).toBe(true);
    // The new run has touched the marker itself.
    expect(Math.abs(statSync(marker()).mtimeMs - (T0 + 3_600_000))).toBeLessThanOrEqual(MTIME_TOLERANCE_MS);
  });

  it('reports nothing after a clean stop', () => {
    const first = start();
    now = T0 + 5_000;
    first.touch();
    first.remove();
    expect(existsSync(marker())).toBe(false);
    now = T0 + 60_000;
    const second = start();
    expect(second.uncleanSince).toBeUndefined();
    expect(existsSync(marker())).toBe(true);
    // remove() twice is harmless.
    second.remove();
    second.remove();
    expect(existsSync(marker())).toBe(false);
    expect(warnings()).toEqual([]);
  });

  it('recreates a marker someone deleted while the watcher runs', () => {
    const run = start();
    rmSync(marker());
    now = T0 + 7_000;
    run.touch();
    expect(existsSync(marker())).toBe(true);
    expect(Math.abs(statSync(marker()).mtimeMs - (T0 + 7_000))).toBeLessThanOrEqual(MTIME_TOLERANCE_MS);
    expect(warnings()).toEqual([]);
  });

  it('warns once, and does not throw, when the dir does not exist', () => {
    const gone = join(dir, 'no-such-dir');
    const run = start(gone);
    expect(run.uncleanSince).toBeUndefined();
    for (let i = 1; i <= 3; i++) {
      now = T0 + i * 1000;
      expect(() => run.touch()).not.toThrow();
    }
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toContain('run marker');
    // Once the dir is back, the marker is too; a later failure warns again.
    mkdirSync(gone);
    run.touch();
    expect(existsSync(join(gone, RUN_MARKER))).toBe(true);
    rmSync(gone, { recursive: true });
    run.touch();
    run.touch();
    expect(warnings()).toHaveLength(2);
  });

  it('warns once, and does not throw, when the dir is under a regular file', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const under = join(file, 'control');
    let run: ReturnType<typeof startRunMarker> | undefined;
    expect(() => {
      run = start(under);
    }).not.toThrow();
    expect(run?.uncleanSince).toBeUndefined();
    for (let i = 1; i <= 3; i++) {
      now = T0 + i * 1000;
      expect(() => run?.touch()).not.toThrow();
    }
    expect(warnings()).toHaveLength(1);
    expect(JSON.stringify(warnings()[0])).toContain('ENOTDIR');
  });
});
