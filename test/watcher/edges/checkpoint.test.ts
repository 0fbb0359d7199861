// The state file a restart resumes from (version 2): round trip; a file that
// cannot be read as a whole (not JSON, empty, truncated, foreign, oversized or
// special) ignored with a warning and never waited on; a failed save logged
// once and never fatal; and the previous version's file carried over without
// re-posting its messages. A state read section by section: checkpointSections.test.ts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotifyPolicy, type IncidentNotification } from '../../../watcher/policy/index.js';
import { assertWritable } from '../../../common/atomicFile.js';
import { MAX_STATE_BYTES, STATE_FILE, type LoadedState } from '../../../watcher/state/checkpoint.js';
import { checkpointDir, restoredDetector, FINGERPRINT, NOW, roundTripped, saved, STATE, type LogLine } from './savedState.js';

let dir: string;
let logs: LogLine[];
let checkpoint: ReturnType<typeof checkpointDir>['checkpoint'];
let write: (content: unknown) => void;
let file: string;
let cleanUp: () => void;

beforeEach(() => {
  ({ dir, logs, checkpoint, write, file, remove: cleanUp } = checkpointDir());
});
afterEach(() => cleanUp());

describe('checkpoint', () => {
  it('loads what it saved, and nothing on a first start', () => {
    const c = checkpoint();
    expect(c.load()).toBeUndefined();
    expect(logs).toEqual([]);
    c.save(STATE);
    expect(checkpoint().load()).toEqual(roundTripped(STATE));
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 2, savedAt: new Date(NOW).toISOString() });
    expect(logs.map((l) => l.msg)).toEqual(['resuming from saved state']);
    expect(logs.at(-1)).toMatchObject({ offset: 4096, pending: STATE.pending.length });
  });

  it('keeps the failing pools’ attempts since their incidents opened and each attempt’s pool; STATE, saved before them, loads as well', () => {
    const counted = roundTripped(STATE);
    const d = counted.detector;
    d.failover.blue = { ...d.failover.blue!, sinceOpen: { attempts: 7, failed: 7 } };
    d.degraded!.blue = { ...d.degraded!.blue!, sinceOpen: { attempts: 40, failed: 2 } };
    const opened = counted.pending[0] as IncidentNotification;
    opened.condition.sinceOpen = { attempts: 7, failed: 7 };
    opened.condition.lastFailure = { ...opened.condition.lastFailure!, upstreamPools: ['blue', 'green'] };
    checkpoint().save(counted);
    expect(checkpoint().load()).toEqual(counted);
    expect(logs.map((l) => l.msg)).toEqual(['resuming from saved state']);
  });

  it('skips a state it already wrote, and writes again once the state changes', () => {
    const c = checkpoint();
    c.save(STATE);
    rmSync(file);
    c.save(roundTripped(STATE));
    expect(readdirSync(dir)).toEqual([]);
    const moved = { ...STATE, position: { ...STATE.position, offset: 5000 } };
    c.save(moved);
    expect(checkpoint().load()).toEqual(roundTripped(moved));
  });

  const INVALID = 'saved state is invalid; starting afresh';
  const NOT_JSON = 'saved state is not JSON; starting afresh';
  const full = `${JSON.stringify(saved())}\n`;
  it.each<[string, unknown, string]>([
    ['not JSON', '{"version":2,', NOT_JSON],
    // A host crash after the rename reached the disk but before the data did (no fsync).
    ['nothing in it', '', 'saved state is empty (a host crash before it reached the disk?); starting afresh'],
    ['only a newline', '\n', 'saved state is empty (a host crash before it reached the disk?); starting afresh'],
    ['its second half missing', full.slice(0, full.length / 2), NOT_JSON],
    ['its last byte missing', full.slice(0, -2), NOT_JSON],
    ['JSON null', 'null', INVALID],
    ['a list', '[]', INVALID],
    ['another version', saved((s) => (s.version = 3)), INVALID],
    ['no version', saved((s) => delete s.version), INVALID],
  ])('ignores a file with %s and says so', (_case, content, warning) => {
    write(content);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs.map((l) => l.msg)).toEqual([warning]);
  });

  it('does not hang on a FIFO at state.json, and says what it found', () => {
    execFileSync('mkfifo', [file]);
    const started = Date.now();
    expect(checkpoint().load()).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logs).toMatchObject([{ msg: 'cannot use the saved state; starting afresh', problem: 'not a regular file but a FIFO' }]);
  });

  it('rejects a file larger than MAX_STATE_BYTES without reading it', () => {
    write(saved());
    // Sparse: large on paper, nothing written.
    truncateSync(file, MAX_STATE_BYTES + 1);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs).toMatchObject([{ msg: 'cannot use the saved state; starting afresh', problem: `larger than ${MAX_STATE_BYTES} bytes` }]);
  });

  it('rejects a directory at state.json', () => {
    execFileSync('mkdir', [file]);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs).toMatchObject([{ problem: 'not a regular file but a directory' }]);
  });

  it('logs a failed save once per distinct error, never throws, and says when saving works again', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const c = checkpoint({ dir: blocker });
    c.save(STATE);
    c.save(STATE);
    expect(logs.filter((l) => l.msg.startsWith('cannot save state'))).toHaveLength(1);
    rmSync(blocker);
    c.save(STATE);
    expect(logs.at(-1)?.msg).toBe('saving state works again');
    expect(checkpoint({ dir: blocker }).load()).toEqual(roundTripped(STATE));
  });

  it('assertWritable throws with the reason for a directory that cannot be written, and leaves nothing behind', () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    expect(() => assertWritable(join(blocker, 'control'))).toThrow(/ENOTDIR|EEXIST/);
    assertWritable(join(dir, 'control'));
    expect(readdirSync(join(dir, 'control'))).toEqual([]);
  });
});

describe('checkpoint: the version 1 state carries over', () => {
  const SAVED_AT = '2026-11-21T23:59:00.000Z';
  const AT = Date.parse(SAVED_AT);
  const COOLDOWN = 60_000;

  /** A version 1 file, as the watcher before incidents wrote it. */
  function v1(detector: { servingPool: string; primaryPool: string; errorRateFiring: boolean }, unsent: string[] = []) {
    return {
      version: 1,
      savedAt: SAVED_AT,
      position: { fingerprint: FINGERPRINT, fingerprintBytes: 256, offset: 777 },
      detector: { usedSwitchIds: ['m0'], ...detector },
      pending: unsent.map((kind) => ({
        kind,
        heldBack: 0,
        message: { text: `<!channel> old ${kind} message`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'old' } }] },
      })),
    };
  }

  function load(content: unknown): LoadedState {
    write(content);
    const state = checkpoint().load();
    if (state === undefined) throw new Error(`not loaded: ${JSON.stringify(logs)}`);
    return state;
  }

  /** What the restored detector and policy decide on the first tick after the upgrade, `ms` after the save. */
  function firstDecisions(state: LoadedState, ms = 1_000) {
    const now = AT + ms;
    const detector = restoredDetector(state.detector, () => now);
    const policy = new NotifyPolicy({ cooldownMs: COOLDOWN, remindMs: 0, restore: state.policy });
    return policy.evaluate(now, detector.conditions(now), false).map((r) => [r.decision, r.notification.kind, r.notification.message]);
  }

  it('keeps the position, the pools and the used switch ids, and does not re-post the old messages', () => {
    const state = load(v1({ servingPool: 'green', primaryPool: 'blue', errorRateFiring: false }, ['failover', 'planned_switch']));
    expect(state.position).toEqual({ fingerprint: FINGERPRINT, fingerprintBytes: 256, offset: 777 });
    expect(state.detector).toMatchObject({ servingPool: 'green', primaryPool: 'blue', usedSwitchIds: ['m0'] });
    expect(state.pending).toEqual([]);
    expect(logs.map((l) => l.msg)).toEqual([
      'carried over the saved state of the previous version; its undelivered messages are re-decided, not re-posted',
      'resuming from saved state',
    ]);
    expect(logs[0]).toMatchObject({ droppedMessages: 2 });
    // The next save is version 2.
    checkpoint().save({ ...state, position: state.position! });
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(2);
    expect(checkpoint().load()).toEqual(roundTripped(state));
  });

  it('failing, with the failover delivered: the incident is open and Slack has heard it', () => {
    const state = load(v1({ servingPool: 'green', primaryPool: 'blue', errorRateFiring: false }));
    expect(state.detector.failover.blue).toMatchObject({ active: true, since: AT, flips: 1 });
    expect(state.policy.incidents).toEqual([
      {
        id: `failover:blue@${AT}`,
        key: 'failover:blue',
        kind: 'failover',
        openedAt: AT,
        told: { active: true, level: 'failing', failures: 0, flips: 1, at: AT },
        lastSentAt: AT,
        deferred: 0,
      },
    ]);
    expect(firstDecisions(state)).toEqual([]);
    expect(firstDecisions(state, 10 * COOLDOWN)).toEqual([]);
  });

  it('failing, with the failover undelivered: the incident is open and not yet told, so it opens now', () => {
    const state = load(v1({ servingPool: 'green', primaryPool: 'blue', errorRateFiring: false }, ['failover']));
    expect(state.detector.failover.blue?.active).toBe(true);
    expect(state.policy.incidents).toMatchObject([{ key: 'failover:blue', openedAt: AT, deferred: 0 }]);
    expect(state.policy.incidents[0]).not.toHaveProperty('told');
    expect(firstDecisions(state)).toEqual([['send', 'failover', 'opened']]);
  });

  it('recovered, with the recovery undelivered: Slack last heard "failing", so the all-clear goes out at once', () => {
    const state = load(v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: false }, ['recovery']));
    expect(state.detector.failover.blue).toMatchObject({ active: false, since: AT, flips: 0 });
    expect(state.policy.incidents).toMatchObject([{ key: 'failover:blue', told: { active: true, level: 'failing' } }]);
    expect(state.policy.incidents[0]).not.toHaveProperty('lastSentAt');
    expect(firstDecisions(state)).toEqual([['send', 'failover', 'resolved']]);
  });

  it('healthy with nothing pending: no condition and no incident', () => {
    const state = load(v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: false }));
    expect(state.detector.failover).toEqual({});
    expect(state.detector.errorRate).toEqual({ active: false, since: 0, failures: 0 });
    expect(state.policy).toEqual({ incidents: [], maintenance: false, quiet: 0 });
    expect(firstDecisions(state)).toEqual([]);
  });

  it('error rate firing, told: the incident stays open and quiet', () => {
    const state = load(v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: true }));
    expect(state.detector.errorRate).toEqual({ active: true, since: AT, failures: 0 });
    expect(state.policy.incidents).toMatchObject([
      { key: 'error_rate', kind: 'error_rate', told: { active: true, level: 'masked' }, lastSentAt: AT },
    ]);
    expect(firstDecisions(state)).toEqual([]);
  });

  it('error rate firing, its message undelivered: it opens now', () => {
    const state = load(v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: true }, ['error_rate']));
    expect(firstDecisions(state)).toEqual([['send', 'error_rate', 'opened']]);
  });

  it('error rate resolved, its message undelivered: the all-clear goes out at once', () => {
    const state = load(v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: false }, ['resolved']));
    expect(state.detector.errorRate).toEqual({ active: false, since: AT, failures: 0 });
    expect(firstDecisions(state)).toEqual([['send', 'error_rate', 'resolved']]);
  });

  it.each<[string, (s: ReturnType<typeof v1>) => void]>([
    ['a pool named "purple"', (s) => (s.detector.servingPool = 'purple')],
    ['a short fingerprint', (s) => (s.position.fingerprint = 'ab12')],
    ['an unknown pending kind', (s) => (s.pending = [{ kind: 'meteor', heldBack: 0, message: { text: '', blocks: [] } }])],
    ['no detector', (s) => delete (s as Partial<typeof s>).detector],
  ])('rejects a version 1 file with %s', (_, change) => {
    const content = v1({ servingPool: 'blue', primaryPool: 'blue', errorRateFiring: false });
    change(content);
    write(content);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs.map((l) => l.msg)).toEqual(['saved state is invalid; starting afresh']);
  });
});
