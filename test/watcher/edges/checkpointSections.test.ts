// A saved state is loaded section by section: a bad field drops its own
// section (position, a detector condition, an incident, a pending message…)
// with one warning naming it, the rest resumes, and what is kept is made to
// agree, so Slack's latest word stays the truth. Random corruption of every
// field: checkpointFuzz.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watcherConfigSchema } from '../../../watcher/config.js';
import { NotifyPolicy } from '../../../watcher/policy/index.js';
import type { LoadedState } from '../../../watcher/state/checkpoint.js';
import type { AccessRecord } from '../../../watcher/types.js';
import { failedOver, served, Sim } from '../core/sim.js';
import { checkpointDir, restoredDetector, NOW, roundTripped, saved, STATE, type LogLine } from './savedState.js';

let logs: LogLine[];
let ctx: ReturnType<typeof checkpointDir>;

beforeEach(() => {
  ctx = checkpointDir();
  logs = ctx.logs;
});
afterEach(() => ctx.remove());

function load(content: unknown, opts: Parameters<typeof ctx.checkpoint>[0] = {}): LoadedState {
  ctx.write(content);
  const state = ctx.checkpoint(opts).load();
  if (state === undefined) throw new Error(`not loaded: ${JSON.stringify(logs)}`);
  return state;
}
const warnings = () => logs.filter((l) => l.level === 'warn');
/** STATE as loaded, with `change` applied to a deep copy. */
const expected = (change: (s: LoadedState) => void): LoadedState => {
  const s: LoadedState = roundTripped(STATE);
  change(s);
  return s;
};

describe('checkpoint: one bad field costs its section, the rest resumes', () => {
  it.each<[string, string, (s: Record<string, any>) => void, (s: LoadedState) => void]>([
    // The issue: a 65-character planned-switch id made the next start forget everything.
    ['a 65-character planned-switch id', 'detector.usedSwitchIds', (s) => s.detector.usedSwitchIds.push('x'.repeat(65)), (e) => (e.detector.usedSwitchIds = [])],
    ['a negative offset', 'position', (s) => (s.position.offset = -1), (e) => delete e.position],
    ['a short fingerprint', 'position', (s) => (s.position.fingerprint = 'ab12'), (e) => delete e.position],
    ['no position', 'position', (s) => delete s.position, (e) => delete e.position],
    ['a serving pool named "purple"', 'detector.pools', (s) => (s.detector.servingPool = 'purple'),
      (e) => Object.assign(e.detector, { servingPool: 'blue', primaryPool: 'blue' }),
    ],
    ['a failover with too many flip times (its incident gives it back)', 'detector.failover.blue', (s) => (s.detector.failover.blue.recentFlips = Array(257).fill(NOW)),
      (e) => (e.detector.failover.blue = { active: true, since: NOW - 5_000, failures: 3, flips: 1, recentFlips: [] }),
    ],
    ['a resolved failover without an incident, garbled', 'detector.failover.green', (s) => (s.detector.failover.green = 'x'), (e) => delete e.detector.failover.green],
    ['a degraded pool whose replica has no address (its incident, never told, gives it back open)', 'detector.degraded.blue', (s) => (s.detector.degraded.blue.replicas[0].addr = ''),
      (e) => (e.detector.degraded!.blue = { active: true, since: NOW - 9_000, failures: 0, replicas: [] }),
    ],
    ['an outage with a negative count (Slack heard it resolved: it comes back resolved)', 'detector.outage', (s) => (s.detector.outage.failures = -1),
      (e) => (e.detector.outage = { active: false, since: NOW - 30_000, failures: 40 }),
    ],
    ['an error rate whose client visibility is not a boolean', 'detector.errorRate', (s) => (s.detector.errorRate.clientVisible = 'yes'),
      (e) => (e.detector.errorRate = { active: true, since: NOW - 50_000, failures: 10, clientVisible: true }),
    ],
    ['an incident of an unknown kind', 'policy.incidents', (s) => (s.policy.incidents[1].kind = 'meteor'), (e) => e.policy.incidents.splice(1, 1)],
    ['a fractional time in what Slack heard', 'policy.incidents', (s) => (s.policy.incidents[3].told.at = 1.5), (e) => e.policy.incidents.splice(3, 1)],
    // Matched to no condition, it would never resolve.
    ['an incident whose key names no condition', 'policy.incidents', (s) => (s.policy.incidents[1].key = 'degraded:purple'), (e) => e.policy.incidents.splice(1, 1)],
    ['a maintenance that is not a boolean', 'policy.maintenance', (s) => (s.policy.maintenance = 'on'), (e) => (e.policy.maintenance = false)],
    ['a negative quiet count', 'policy.quiet', (s) => (s.policy.quiet = -1), (e) => (e.policy.quiet = 0)],
    ['a planned switch to "purple"', 'pending', (s) => (s.pending[1].to = 'purple'), (e) => e.pending.splice(1, 1)],
    ['a maintenance summary listing a bad condition', 'pending', (s) => (s.pending[2].open[0].level = 'on_fire'), (e) => e.pending.splice(2, 1)],
    ['a release notice with a bad release id', 'pending', (s) => (s.pending[3].entry.release = 'r 2'), (e) => e.pending.splice(3, 1)],
    ['a pending message in the old format', 'pending', (s) => (s.pending[4] = { kind: 'failover', heldBack: 0, message: { text: 'x', blocks: [] } }),
      (e) => e.pending.splice(4, 1),
    ],
  ])('%s: drops only %s, with one warning naming it', (_case, section, change, expect_) => {
    const state = load(saved(change));
    expect(state).toEqual(expected(expect_));
    expect(warnings()).toEqual([expect.objectContaining({ section, problem: expect.any(String), msg: expect.stringContaining(`dropped the saved ${section}: `) })]);
    expect(logs.at(-1)?.msg).toBe('resuming from saved state');
  });

  it('says which field of the section is wrong, and how', () => {
    load(saved((s) => (s.detector.outage.failures = -1)));
    expect(warnings()[0]).toMatchObject({ section: 'detector.outage', problem: expect.stringMatching(/^failures: .*>=0/) });
    logs.length = 0;
    load(saved((s) => (s.pending[1].to = 'purple')));
    expect(warnings()[0]).toMatchObject({ section: 'pending', problem: expect.stringMatching(/^1\./) });
  });

  it('takes unreadable pools as ACTIVE_POOL, as a first start does', () => {
    const state = load(saved((s) => delete s.detector.primaryPool), { activePool: 'green' });
    expect(state.detector).toMatchObject({ servingPool: 'green', primaryPool: 'green' });
    expect(state.detector.failover).toEqual(roundTripped(STATE.detector.failover));
  });

  it('a detector that is not an object: one warning, and each incident gets its condition back from what Slack heard', () => {
    const state = load(saved((s) => (s.detector = 'garbage')));
    expect(warnings()).toMatchObject([{ section: 'detector' }]);
    expect(state.detector).toEqual({
      servingPool: 'blue',
      primaryPool: 'blue',
      usedSwitchIds: [],
      failover: { blue: { active: true, since: NOW - 5_000, failures: 3, flips: 1, recentFlips: [] } },
      degraded: { blue: { active: true, since: NOW - 9_000, failures: 0, replicas: [] } },
      outage: { active: false, since: NOW - 30_000, failures: 40 },
      errorRate: { active: true, since: NOW - 50_000, failures: 10, clientVisible: true },
    });
    expect(state.policy).toEqual(roundTripped(STATE.policy));
    expect(state.position).toEqual(STATE.position);
  });

  it('a policy that is not an object: one warning saying what it costs, the detector and the messages kept', () => {
    const state = load(saved((s) => (s.policy = [])));
    expect(warnings()).toMatchObject([{ section: 'policy', consequence: expect.stringContaining('announced as new') }]);
    expect(state.policy).toEqual({ incidents: [], maintenance: false, quiet: 0 });
    expect(state.detector).toEqual(roundTripped(STATE.detector));
    expect(state.pending).toEqual(roundTripped(STATE.pending));
  });

  it('a dropped message marks what Slack heard of its incident as unknown, so the truth is sent again', () => {
    const state = load(
      saved((s) => {
        s.pending[0].condition.failures = -1;
        s.policy.maintenance = false;
      }),
    );
    expect(warnings()).toMatchObject([{ section: 'pending', consequence: expect.stringMatching(/^1 dropped: what Slack heard/) }]);
    const lost = state.policy.incidents.filter((i) => i.told?.lost).map((i) => i.key);
    expect(lost).toEqual(['failover:blue']);
    // Still failing: the next evaluation says so (the cooldown since its last message has passed).
    const now = NOW + 60_000;
    const detector = restoredDetector(state.detector, () => now);
    const policy = new NotifyPolicy({ cooldownMs: 60_000, remindMs: 0, restore: state.policy });
    const decided = policy
      .evaluate(now, detector.conditions(now), false)
      .map(({ decision, notification: n }) => ['condition' in n ? n.condition.key : n.kind, decision, n.message]);
    expect(decided).toContainEqual(['failover:blue', 'send', 'updated']);
  });

  it('pending that is not a list: every incident Slack heard of is marked unknown', () => {
    const state = load(saved((s) => (s.pending = { 0: 'x' })));
    expect(warnings()).toMatchObject([{ section: 'pending' }]);
    expect(state.pending).toEqual([]);
    expect(state.policy.incidents.map((i) => [i.key, i.told?.lost])).toEqual([
      ['failover:blue', true],
      ['degraded:blue', undefined],
      ['outage', true],
      ['error_rate', true],
    ]);
  });

  it('keeps a full queue: SLACK_QUEUE_SIZE waiting (at most 10,000) and the one being sent', () => {
    const size = watcherConfigSchema.shape.SLACK_QUEUE_SIZE;
    expect([size.safeParse('10000').success, size.safeParse('10001').success]).toEqual([true, false]);
    const notice = STATE.pending[1];
    const state = load(saved((s) => (s.pending = Array(10_001).fill(notice))));
    expect(state.pending).toHaveLength(10_001);
    expect(warnings()).toEqual([]);
    load(saved((s) => (s.pending = Array(10_002).fill(notice))));
    expect(warnings()).toMatchObject([{ section: 'pending', problem: 'more than 10001 entries' }]);
  });
});

describe('checkpoint: a dropped condition still ends as the saved one would', () => {
  /** Only the failover, open and told: nothing else to say. */
  const failoverOnly = (change: (s: Record<string, any>) => void = () => {}) =>
    saved((s) => {
      s.detector.degraded = {};
      s.detector.outage = { active: false, since: 0, failures: 0 };
      s.detector.errorRate = { active: false, since: 0, failures: 0 };
      s.policy = { incidents: [s.policy.incidents[0]], maintenance: false, quiet: 0 };
      s.pending = [];
      change(s);
    });

  async function afterRestart(content: unknown, line: () => AccessRecord): Promise<Array<[number, string]>> {
    const state = load(content);
    // No error-rate incident: a failover's retried 500s would open one.
    const sim = new Sim({ thresholdPercent: 100, restore: { ...state, detector: { ...state.detector, primaryPool: 'blue' } } });
    await sim.run(40, 5, line);
    return sim.messages();
  }

  it.each<[string, () => AccessRecord, RegExp[]]>([
    ['blue serves again: the all-clear goes out', () => served('blue'), [/^Recovered: pool changed green → blue/]],
    ['blue keeps failing: nothing new is said', () => failedOver(), []],
  ])('%s', async (_case, line, headlines) => {
    const intact = await afterRestart(failoverOnly(), line);
    const dropped = await afterRestart(failoverOnly((s) => (s.detector.failover = { blue: null })), line);
    expect(warnings()).toMatchObject([{ section: 'detector.failover.blue' }]);
    expect(dropped).toEqual(intact);
    expect(intact).toEqual(headlines.map((headline) => [expect.any(Number), expect.stringMatching(headline)]));
  });
});
