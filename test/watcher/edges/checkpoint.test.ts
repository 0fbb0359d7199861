// The state file a restart resumes from (version 2): round trip; a corrupt,
// foreign, oversized or special file ignored with a warning and never waited
// on; every nested field checked; a failed save logged once and never fatal;
// and the previous version's file carried over without re-posting its messages.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { Detector, type ConditionView } from '../../../watcher/detect/index.js';
import { NotifyPolicy } from '../../../watcher/policy/index.js';
import { assertWritable } from '../../../watcher/state/atomicFile.js';
import { createCheckpoint, MAX_STATE_BYTES, STATE_FILE, type SavedState } from '../../../watcher/state/checkpoint.js';

const NOW = Date.UTC(2026, 10, 22);
const FINGERPRINT = 'ab12'.repeat(10);

const CONDITION: ConditionView = {
  key: 'failover:blue',
  kind: 'failover',
  active: true,
  level: 'failing',
  since: NOW - 5_000,
  at: NOW - 4_000,
  pool: 'blue',
  primaryPool: 'blue',
  servingPool: 'green',
  releases: { blue: 'blue-v1', green: 'green-v1' },
  failures: 3,
  flips: 1,
  recentFlips: 1,
  holdMs: 10_000,
  share: { failed: 3, attempts: 40 },
  window: {
    size: 200,
    count: 200,
    errors: 3,
    clientErrors: 0,
    upstreamErrors: 3,
    errorRate: 1.5,
    clientErrorRate: 0,
    upstreamErrorRate: 1.5,
    topFailingUpstream: { addr: '172.18.0.3:3000', failures: 3 },
  },
  thresholdPercent: 2,
  lastFailure: { method: 'GET', path: '/version', status: 200, upstreamStatuses: [500, 200], upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'] },
};

const STATE: SavedState = {
  position: { fingerprint: FINGERPRINT, fingerprintBytes: 256, offset: 4096 },
  detector: {
    servingPool: 'green',
    primaryPool: 'blue',
    usedSwitchIds: ['m1'],
    failover: { blue: { active: true, since: NOW - 5_000, failures: 3, flips: 1, recentFlips: [NOW - 5_000] } },
    outage: { active: false, since: 0, failures: 0 },
    errorRate: { active: false, since: NOW - 60_000, failures: 12, steadySince: undefined, clientVisible: true },
  },
  policy: {
    incidents: [
      {
        id: `failover:blue@${NOW - 5_000}`,
        key: 'failover:blue',
        kind: 'failover',
        openedAt: NOW - 5_000,
        told: { active: true, level: 'failing', failures: 3, flips: 1, at: NOW - 4_000 },
        lastSentAt: NOW - 4_000,
        deferred: 0,
      },
    ],
    maintenance: false,
    quiet: 0,
  },
  pending: [
    {
      kind: 'failover',
      message: 'opened',
      incidentId: `failover:blue@${NOW - 5_000}`,
      openedAt: NOW - 5_000,
      at: NOW - 4_000,
      condition: CONDITION,
      deferred: 0,
    },
    { kind: 'planned_switch', message: 'notice', at: NOW - 3_000, from: 'blue', to: 'green', toRelease: 'green-v2' },
    { kind: 'maintenance_ended', message: 'notice', at: NOW - 2_000, open: [CONDITION], resolved: [], quiet: 2 },
    {
      kind: 'release',
      message: 'notice',
      at: NOW - 1_000,
      entry: { time: new Date(NOW - 1_500).toISOString(), action: 'release', outcome: 'blocked', release: 'r2', fromPool: 'blue', who: 'ci' },
    },
  ],
};

/** STATE as JSON would bring it back: no undefined fields. */
const roundTripped = (state: SavedState): SavedState => JSON.parse(JSON.stringify(state));

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
    clock: () => NOW,
    logger: createLogger('test', 'info', { write: (s: string) => void logs.push(JSON.parse(s)) }),
  });

const file = () => join(dir, STATE_FILE);
const write = (content: unknown) => writeFileSync(file(), typeof content === 'string' ? content : JSON.stringify(content));
/** STATE as saved on disk, with `change` applied to a deep copy. */
function saved(change: (s: Record<string, any>) => void = () => {}): Record<string, any> {
  const s: Record<string, any> = { version: 2, savedAt: new Date(NOW).toISOString(), ...roundTripped(STATE) };
  change(s);
  return s;
}

describe('checkpoint', () => {
  it('loads what it saved, and nothing on a first start', () => {
    const c = checkpoint();
    expect(c.load()).toBeUndefined();
    expect(logs).toEqual([]);
    c.save(STATE);
    expect(checkpoint().load()).toEqual(roundTripped(STATE));
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toMatchObject({ version: 2, savedAt: new Date(NOW).toISOString() });
    expect(logs.at(-1)).toMatchObject({ msg: 'resuming from saved state', offset: 4096, pending: 4 });
  });

  it('skips a state it already wrote, and writes again once the state changes', () => {
    const c = checkpoint();
    c.save(STATE);
    rmSync(file());
    c.save(roundTripped(STATE));
    expect(readdirSync(dir)).toEqual([]);
    const moved = { ...STATE, position: { ...STATE.position, offset: 5000 } };
    c.save(moved);
    expect(checkpoint().load()).toEqual(roundTripped(moved));
  });

  const INVALID = 'saved state is invalid; starting afresh';
  it.each<[string, unknown, string]>([
    ['not JSON', '{"version":2,', 'saved state is not JSON; starting afresh'],
    ['JSON null', 'null', INVALID],
    ['another version', saved((s) => (s.version = 3)), INVALID],
    ['no version', saved((s) => delete s.version), INVALID],
    ['a negative offset', saved((s) => (s.position.offset = -1)), INVALID],
    ['a short fingerprint', saved((s) => (s.position.fingerprint = 'ab12')), INVALID],
    ['an upper-case fingerprint', saved((s) => (s.position.fingerprint = FINGERPRINT.toUpperCase())), INVALID],
    ['a serving pool named "purple"', saved((s) => (s.detector.servingPool = 'purple')), INVALID],
    ['a planned switch to "purple"', saved((s) => (s.pending[1].to = 'purple')), INVALID],
    ['a pending condition with a negative count', saved((s) => (s.pending[0].condition.failures = -1)), INVALID],
    ['a maintenance summary listing a bad condition', saved((s) => (s.pending[2].open[0].level = 'on_fire')), INVALID],
    ['a release notice with a bad release id', saved((s) => (s.pending[3].entry.release = 'r 2')), INVALID],
    ['a failover with too many flip times', saved((s) => (s.detector.failover.blue.recentFlips = Array(257).fill(NOW))), INVALID],
    ['an incident of an unknown kind', saved((s) => (s.policy.incidents[0].kind = 'meteor')), INVALID],
    ['a fractional time in what Slack heard', saved((s) => (s.policy.incidents[0].told.at = 1.5)), INVALID],
    ['an error rate whose client visibility is not a boolean', saved((s) => (s.detector.errorRate.clientVisible = 'yes')), INVALID],
    ['a pending message in the old format', saved((s) => (s.pending = [{ kind: 'failover', heldBack: 0, message: { text: 'x', blocks: [] } }])), INVALID],
  ])('ignores a file with %s and says so', (_case, content, warning) => {
    write(content);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs.map((l) => l.msg)).toEqual([warning]);
  });

  it('says where an invalid field is', () => {
    write(saved((s) => (s.detector.outage.failures = -1)));
    expect(checkpoint().load()).toBeUndefined();
    expect(logs[0]).toMatchObject({ msg: INVALID, problem: expect.stringMatching(/^detector\.outage\.failures: /) });
  });

  it('does not hang on a FIFO at state.json, and says what it found', () => {
    execFileSync('mkfifo', [file()]);
    const started = Date.now();
    expect(checkpoint().load()).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(logs).toMatchObject([{ msg: 'cannot use the saved state; starting afresh', problem: 'not a regular file but a FIFO' }]);
  });

  it('rejects a file larger than MAX_STATE_BYTES without reading it', () => {
    write(saved());
    // Sparse: large on paper, nothing written.
    truncateSync(file(), MAX_STATE_BYTES + 1);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs).toMatchObject([{ msg: 'cannot use the saved state; starting afresh', problem: `larger than ${MAX_STATE_BYTES} bytes` }]);
  });

  it('rejects a directory at state.json', () => {
    execFileSync('mkdir', [file()]);
    expect(checkpoint().load()).toBeUndefined();
    expect(logs).toMatchObject([{ problem: 'not a regular file but a directory' }]);
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
    expect(checkpoint(blocker).load()).toEqual(roundTripped(STATE));
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

  function load(content: unknown): SavedState {
    write(content);
    const state = checkpoint().load();
    if (state === undefined) throw new Error(`not loaded: ${JSON.stringify(logs)}`);
    return state;
  }

  /** What the restored detector and policy decide on the first tick after the upgrade, `ms` after the save. */
  function firstDecisions(state: SavedState, ms = 1_000) {
    const now = AT + ms;
    const detector = new Detector({
      activePool: 'blue',
      windowSize: 200,
      poolWindowSize: 100,
      thresholdPercent: 2,
      recoveryHoldMs: 10_000,
      clock: () => now,
      plannedSwitch: () => undefined,
      restore: state.detector,
    });
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
    checkpoint().save(state);
    expect(JSON.parse(readFileSync(file(), 'utf8')).version).toBe(2);
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
