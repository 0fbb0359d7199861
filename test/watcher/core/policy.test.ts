// The policy stage with hand-made condition views: what Slack hears, when, and
// what it is told about changes the cooldown held back.
import { describe, expect, it } from 'vitest';
import type { ConditionView, PlannedSwitchNotice } from '../../../watcher/detect/index.js';
import {
  NotifyPolicy,
  notificationSchema,
  type IncidentNotification,
  type Notification,
  type PolicyOptions,
  type PolicyResult,
} from '../../../watcher/policy/index.js';

const T = 1_800_000_000_000;
const COOLDOWN = 60_000;
const S = 1_000;

const WINDOW: ConditionView['window'] = {
  size: 200,
  count: 200,
  errors: 10,
  clientErrors: 0,
  upstreamErrors: 10,
  errorRate: 5,
  clientErrorRate: 0,
  upstreamErrorRate: 5,
};

/** The failover of blue, open since T and failing, unless `fields` say otherwise. */
function failover(fields: Partial<ConditionView> = {}): ConditionView {
  return {
    key: 'failover:blue',
    kind: 'failover',
    active: true,
    level: 'failing',
    since: T,
    at: T,
    pool: 'blue',
    primaryPool: 'blue',
    servingPool: 'green',
    releases: { blue: 'blue-v1', green: 'green-v1' },
    failures: 1,
    flips: 1,
    recentFlips: 1,
    holdMs: 10_000,
    share: { failed: 1, attempts: 20 },
    window: WINDOW,
    thresholdPercent: 2,
    ...fields,
  };
}

const resolved = (fields: Partial<ConditionView> = {}): ConditionView =>
  failover({ active: false, level: 'ok', servingPool: 'blue', since: T + 30 * S, ...fields });

function outage(fields: Partial<ConditionView> = {}): ConditionView {
  const { pool: _pool, flips: _flips, recentFlips: _recent, share: _share, ...rest } = failover({ level: 'down', ...fields });
  return { ...rest, key: 'outage', kind: 'outage' };
}

function errorRate(fields: Partial<ConditionView> = {}): ConditionView {
  return { ...outage({ level: 'masked', ...fields }), key: 'error_rate', kind: 'error_rate' };
}

function policy(opts: Partial<PolicyOptions> = {}): NotifyPolicy {
  return new NotifyPolicy({ cooldownMs: COOLDOWN, remindMs: 0, ...opts });
}

/** [decision, kind, message] per result. */
const brief = (results: PolicyResult[]) => results.map((r) => [r.decision, r.notification.kind, r.notification.message]);

function incident(result: PolicyResult | undefined): IncidentNotification {
  const n = result?.notification;
  if (n === undefined || n.message === 'notice') throw new Error('expected an incident notification');
  return n;
}

/** Evaluates at T + ms. */
const at = (p: NotifyPolicy, ms: number, views: ConditionView[], maintenance = false) => p.evaluate(T + ms, views, maintenance);

describe('NotifyPolicy: the first message', () => {
  it('goes out at once, as the incident opening, and only once', () => {
    const p = policy();
    const results = at(p, 0, [failover()]);
    expect(results).toEqual([
      {
        decision: 'send',
        notification: {
          kind: 'failover',
          message: 'opened',
          incidentId: `failover:blue@${T}`,
          openedAt: T,
          at: T,
          condition: failover(),
          deferred: 0,
        },
      },
    ]);
    expect(notificationSchema.parse(results[0]?.notification)).toEqual(results[0]?.notification);
    expect(at(p, 1 * S, [failover({ failures: 5 })])).toEqual([]);
    expect(p.open()).toMatchObject([
      { key: 'failover:blue', told: { active: true, level: 'failing', failures: 1, flips: 1, at: T }, lastSentAt: T, deferred: 0 },
    ]);
  });

  it('says nothing of conditions that are not open and were never told', () => {
    const p = policy();
    expect(at(p, 0, [resolved(), outage({ active: false, level: 'ok' })])).toEqual([]);
    expect(p.open()).toEqual([]);
  });

  it('keeps incidents apart: one per condition key, each with its own cooldown', () => {
    const p = policy();
    expect(brief(at(p, 0, [failover()]))).toEqual([['send', 'failover', 'opened']]);
    expect(brief(at(p, 1 * S, [failover(), outage({ since: T + S })]))).toEqual([['send', 'outage', 'opened']]);
    expect(brief(at(p, 2 * S, [failover(), outage({ since: T + S }), errorRate({ since: T + 2 * S })]))).toEqual([
      ['send', 'error_rate', 'opened'],
    ]);
    expect(p.open().map((i) => i.id)).toEqual([`failover:blue@${T}`, `outage@${T + S}`, `error_rate@${T + 2 * S}`]);
  });
});

describe('NotifyPolicy: the cooldown defers, never drops', () => {
  it('defers changes within cooldownMs, reporting each change once', () => {
    const p = policy();
    at(p, 0, [failover()]);
    expect(brief(at(p, 1 * S, [failover({ level: 'flapping' })]))).toEqual([['defer', 'failover', 'updated']]);
    expect(at(p, 2 * S, [failover({ level: 'flapping', failures: 9 })])).toEqual([]);
    const deferred = at(p, 3 * S, [resolved()]);
    expect(brief(deferred)).toEqual([['defer', 'failover', 'resolved']]);
    expect(incident(deferred[0]).deferred).toBe(2);
    expect(at(p, 4 * S, [resolved()])).toEqual([]);
    expect(at(p, COOLDOWN - 1, [resolved()])).toEqual([]);
  });

  it('at the end of the cooldown sends one message with the difference from what Slack heard', () => {
    const p = policy();
    at(p, 0, [failover()]);
    at(p, 1 * S, [failover({ level: 'flapping' })]);
    at(p, 3 * S, [resolved({ failures: 7, flips: 12 })]);
    const results = at(p, COOLDOWN, [resolved({ failures: 7, flips: 12 })]);
    expect(brief(results)).toEqual([['send', 'failover', 'resolved']]);
    expect(incident(results[0])).toMatchObject({
      incidentId: `failover:blue@${T}`,
      openedAt: T,
      at: T + COOLDOWN,
      before: { active: true, level: 'failing', failures: 1, flips: 1, at: T },
      deferred: 2,
      condition: { active: false, failures: 7, flips: 12 },
    });
    expect(at(p, COOLDOWN + S, [resolved({ failures: 7, flips: 12 })])).toEqual([]);
  });

  it('sends nothing at the end of the cooldown when the level is back to what Slack heard', () => {
    const p = policy();
    at(p, 0, [failover()]);
    expect(brief(at(p, 20 * S, [resolved()]))).toEqual([['defer', 'failover', 'resolved']]);
    // Fails again before the all-clear could go out: Slack's word "failing" is still true.
    expect(at(p, 30 * S, [failover({ since: T + 30 * S, failures: 2 })])).toEqual([]);
    expect(at(p, COOLDOWN, [failover({ since: T + 30 * S, failures: 2 })])).toEqual([]);
    expect(at(p, 10 * COOLDOWN, [failover({ since: T + 30 * S, failures: 2 })])).toEqual([]);
    // The incident is the same one, and the held-back change is still counted.
    expect(p.open()).toMatchObject([{ id: `failover:blue@${T}`, deferred: 1 }]);
    // The same change again is reported again: it is a new change.
    expect(brief(at(p, 10 * COOLDOWN + S, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('sends a change after the cooldown at once', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const results = at(p, COOLDOWN, [failover({ level: 'flapping' })]);
    expect(brief(results)).toEqual([['send', 'failover', 'updated']]);
    expect(incident(results[0]).deferred).toBe(0);
    // The cooldown runs from that message.
    expect(brief(at(p, COOLDOWN + S, [resolved()]))).toEqual([['defer', 'failover', 'resolved']]);
    expect(brief(at(p, 2 * COOLDOWN, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('sends every change at once with a cooldown of 0', () => {
    const p = policy({ cooldownMs: 0 });
    expect(brief(at(p, 0, [failover()]))).toEqual([['send', 'failover', 'opened']]);
    expect(brief(at(p, 0, [failover({ level: 'flapping' })]))).toEqual([['send', 'failover', 'updated']]);
    expect(brief(at(p, 1, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('does not count a recovering primary as news', () => {
    const p = policy();
    at(p, 0, [failover()]);
    expect(at(p, 5 * S, [failover({ level: 'recovering', steadyForMs: 0 })])).toEqual([]);
    expect(at(p, 2 * COOLDOWN, [failover({ level: 'recovering', steadyForMs: 9_000 })])).toEqual([]);
    expect(p.open()[0]).toMatchObject({ deferred: 0, told: { level: 'failing' } });
    // From flapping too; what resolves it is news, and the cooldown is long over.
    const q = policy();
    at(q, 0, [failover({ level: 'flapping' })]);
    expect(at(q, S, [failover({ level: 'recovering' })])).toEqual([]);
    expect(brief(at(q, 2 * COOLDOWN, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });
});

describe('NotifyPolicy: after an all-clear', () => {
  it('a failure after Slack last heard an all-clear goes out at once, as a new incident', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const allClear = at(p, COOLDOWN, [resolved({ since: T + COOLDOWN })]);
    expect(brief(allClear)).toEqual([['send', 'failover', 'resolved']]);
    // Well within the cooldown of the all-clear, not yet settled:
    const again = at(p, COOLDOWN + 5 * S, [failover({ since: T + COOLDOWN + 5 * S, failures: 2 })]);
    expect(brief(again)).toEqual([['send', 'failover', 'opened']]);
    expect(incident(again[0])).toMatchObject({
      incidentId: `failover:blue@${T + COOLDOWN + 5 * S}`,
      openedAt: T + COOLDOWN + 5 * S,
      deferred: 0,
    });
    // The all-clear's delivery ends late: it belongs to the old incident and changes nothing.
    p.settled(allClear[0]!.notification, 'delivered');
    expect(p.open()).toMatchObject([{ id: `failover:blue@${T + COOLDOWN + 5 * S}`, told: { active: true } }]);
  });

  it('a delivered all-clear ends the incident; the next failure opens a new one', () => {
    const p = policy();
    p.settled(at(p, 0, [failover()])[0]!.notification, 'delivered');
    expect(p.open()).toHaveLength(1);
    const allClear = at(p, COOLDOWN, [resolved({ since: T + COOLDOWN })]);
    p.settled(allClear[0]!.notification, 'delivered');
    expect(p.open()).toEqual([]);
    // Views of resolved conditions keep coming: nothing to say.
    expect(at(p, COOLDOWN + S, [resolved({ since: T + COOLDOWN })])).toEqual([]);
    const again = at(p, COOLDOWN + 2 * S, [failover({ since: T + COOLDOWN + 2 * S })]);
    expect(brief(again)).toEqual([['send', 'failover', 'opened']]);
    expect(incident(again[0])).not.toHaveProperty('before');
    expect(incident(again[0]).incidentId).toBe(`failover:blue@${T + COOLDOWN + 2 * S}`);
  });
});

describe('NotifyPolicy: reminders', () => {
  it('reminds of an open incident remindMs after its last message', () => {
    const p = policy({ remindMs: 300_000 });
    at(p, 0, [failover()]);
    expect(at(p, 299_999, [failover()])).toEqual([]);
    const reminder = at(p, 300_000, [failover({ failures: 40 })]);
    expect(brief(reminder)).toEqual([['send', 'failover', 'reminder']]);
    expect(incident(reminder[0])).toMatchObject({ before: { failures: 1, at: T }, openedAt: T, condition: { failures: 40 } });
    expect(at(p, 300_000 + 299_999, [failover()])).toEqual([]);
    expect(brief(at(p, 600_000, [failover()]))).toEqual([['send', 'failover', 'reminder']]);
  });

  it('counts from the last message of any kind, and reminds while recovering too', () => {
    const p = policy({ remindMs: 300_000 });
    at(p, 0, [failover()]);
    at(p, 100_000, [failover({ level: 'flapping' })]);
    expect(at(p, 300_000, [failover({ level: 'flapping' })])).toEqual([]);
    expect(brief(at(p, 400_000, [failover({ level: 'recovering' })]))).toEqual([['send', 'failover', 'reminder']]);
  });

  it('never reminds with remindMs 0, nor of a resolved incident, nor during maintenance', () => {
    const none = policy({ remindMs: 0 });
    at(none, 0, [failover()]);
    expect(at(none, 1_000_000_000, [failover()])).toEqual([]);

    const quiet = policy({ remindMs: 300_000 });
    at(quiet, 0, [failover()]);
    at(quiet, COOLDOWN, [resolved()]);
    expect(at(quiet, COOLDOWN + 300_000, [resolved()])).toEqual([]);

    const held = policy({ remindMs: 300_000 });
    at(held, 0, [failover()]);
    expect(at(held, 300_000, [failover()], true)).toEqual([]);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects cooldownMs and remindMs %s', (value) => {
    expect(() => policy({ cooldownMs: value })).toThrow(RangeError);
    expect(() => policy({ remindMs: value })).toThrow(RangeError);
  });
});

describe('NotifyPolicy: maintenance', () => {
  it('suppresses every change, reporting each once', () => {
    const p = policy();
    const first = at(p, 0, [failover()], true);
    expect(brief(first)).toEqual([['suppress', 'failover', 'opened']]);
    expect(incident(first[0])).not.toHaveProperty('before');
    expect(at(p, S, [failover()], true)).toEqual([]);
    expect(brief(at(p, 2 * S, [failover({ level: 'flapping' })], true))).toEqual([['suppress', 'failover', 'opened']]);
    expect(at(p, 10 * COOLDOWN, [failover({ level: 'flapping' })], true)).toEqual([]);
  });

  it('holds planned switches too', () => {
    const notice: PlannedSwitchNotice = {
      kind: 'planned_switch',
      message: 'notice',
      at: T,
      from: 'blue',
      to: 'green',
      fromRelease: 'blue-v1',
      toRelease: 'green-v2',
    };
    const p = policy();
    expect(p.notice(notice, false)).toEqual({ decision: 'send', notification: notice });
    expect(p.notice(notice, true).decision).toBe('suppress');
  });

  it('ends with one summary: what is open, what resolved that Slack had heard of, and how many came and went', () => {
    const p = policy();
    // Before maintenance, Slack heard of the failover and of the outage.
    at(p, 0, [failover(), outage()]);
    // During it: the outage resolves, an error rate comes and goes, the failover goes on.
    const during = [failover({ level: 'flapping' }), outage({ active: false, level: 'ok' }), errorRate({ since: T + 10 * S })];
    expect(brief(at(p, 10 * S, during, true))).toEqual([
      ['suppress', 'failover', 'updated'],
      ['suppress', 'outage', 'resolved'],
      ['suppress', 'error_rate', 'opened'],
    ]);
    const after = [failover({ level: 'flapping' }), outage({ active: false, level: 'ok' }), errorRate({ active: false, level: 'ok' })];
    expect(at(p, 20 * S, after, true)).toEqual([]);
    const end = at(p, 30 * S, after, false);
    expect(end).toEqual([
      {
        decision: 'send',
        notification: {
          kind: 'maintenance_ended',
          message: 'notice',
          at: T + 30 * S,
          open: [failover({ level: 'flapping' })],
          resolved: [outage({ active: false, level: 'ok' })],
          quiet: 1,
        },
      },
    ]);
    expect(notificationSchema.parse(end[0]?.notification)).toEqual(end[0]?.notification);
    // The outage is kept until the summary that carries its all-clear is delivered.
    expect(p.open().map((i) => i.key)).toEqual(['failover:blue', 'outage']);
    p.settled(end[0]!.notification, 'delivered');
    // The summary told Slack what is open: nothing more now, and the cooldown runs from it.
    expect(p.open()).toMatchObject([{ key: 'failover:blue', told: { level: 'flapping', at: T + 30 * S }, deferred: 0 }]);
    expect(at(p, 31 * S, after)).toEqual([]);
    expect(brief(at(p, 31 * S, [resolved()]))).toEqual([['defer', 'failover', 'resolved']]);
    expect(brief(at(p, 30 * S + COOLDOWN, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('a summary that was not delivered is not the last word: the all-clear it carried is sent again', () => {
    const p = policy();
    at(p, 0, [failover()]);
    expect(brief(at(p, 10 * S, [resolved()], true))).toEqual([['suppress', 'failover', 'resolved']]);
    const end = at(p, 20 * S, [resolved()], false);
    expect(brief(end)).toEqual([['send', 'maintenance_ended', 'notice']]);
    // Slack was down past SLACK_RETRY_FOR_SEC (or answered a 4xx, or the queue was full).
    p.settled(end[0]!.notification, 'failed');
    expect(brief(at(p, 21 * S, [resolved()]))).toEqual([['defer', 'failover', 'resolved']]);
    const resend = at(p, 20 * S + COOLDOWN, [resolved()]);
    expect(brief(resend)).toEqual([['send', 'failover', 'resolved']]);
    p.settled(resend[0]!.notification, 'delivered');
    expect(p.open()).toEqual([]);
  });

  it('an all-clear lost before maintenance is carried by its summary, not forgotten (simulation seed 20261841)', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const recovered = at(p, COOLDOWN, [resolved()]);
    expect(brief(recovered)).toEqual([['send', 'failover', 'resolved']]);
    // Slack was down: the all-clear did not arrive, and then maintenance began.
    p.settled(recovered[0]!.notification, 'failed');
    at(p, COOLDOWN + 10 * S, [resolved()], true);
    const end = at(p, COOLDOWN + 20 * S, [resolved()], false);
    expect(end[0]?.notification).toMatchObject({ kind: 'maintenance_ended', resolved: [resolved()] });
    // The summary was lost too: the all-clear is sent again once the cooldown allows.
    p.settled(end[0]!.notification, 'failed');
    expect(brief(at(p, 2 * COOLDOWN + 20 * S, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('an incident that opened during maintenance and is still open at its end is in the summary, not paged again', () => {
    const p = policy();
    at(p, 0, [failover()], true);
    const end = at(p, 10 * S, [failover()], false);
    expect(brief(end)).toEqual([['send', 'maintenance_ended', 'notice']]);
    expect(end[0]?.notification).toMatchObject({ open: [failover()], resolved: [], quiet: 0 });
    expect(at(p, 11 * S, [failover()])).toEqual([]);
  });

  it('the quiet count starts over with each maintenance', () => {
    const p = policy();
    at(p, 0, [failover()], true);
    at(p, S, [resolved()], true);
    expect(at(p, 2 * S, [resolved()], false)[0]?.notification).toMatchObject({ open: [], resolved: [], quiet: 1 });
    at(p, 3 * S, [resolved()], true);
    expect(at(p, 4 * S, [resolved()], false)[0]?.notification).toMatchObject({ open: [], resolved: [], quiet: 0 });
  });

  it('a condition that resolves just as maintenance ends is counted once', () => {
    const p = policy();
    at(p, 0, [failover()], true);
    const end = at(p, S, [resolved()], false);
    expect(end.map((r) => r.notification)).toMatchObject([{ kind: 'maintenance_ended', open: [], resolved: [], quiet: 1 }]);
    expect(p.open()).toEqual([]);
  });
});

describe('NotifyPolicy: failed deliveries', () => {
  it('marks what Slack heard as lost, and re-sends the truth once the cooldown ends, not before', () => {
    const p = policy();
    const opened = at(p, 0, [failover()]);
    p.settled(opened[0]!.notification, 'failed');
    expect(p.open()[0]?.told).toMatchObject({ active: true, level: 'failing', lost: true });
    // A revoked webhook fails at once: nothing is re-sent in a loop meanwhile.
    const meanwhile = [];
    for (let ms = 0; ms < COOLDOWN; ms += S) meanwhile.push(...at(p, ms, [failover()]));
    expect(brief(meanwhile)).toEqual([['defer', 'failover', 'updated']]);
    const resent = at(p, COOLDOWN, [failover()]);
    expect(brief(resent)).toEqual([['send', 'failover', 'updated']]);
    expect(incident(resent[0])).toMatchObject({ incidentId: `failover:blue@${T}`, before: { lost: true } });
    // Fails again: again nothing until the next cooldown.
    p.settled(resent[0]!.notification, 'failed');
    const again = [];
    for (let ms = COOLDOWN; ms < 2 * COOLDOWN; ms += S) again.push(...at(p, ms, [failover()]));
    expect(brief(again)).toEqual([['defer', 'failover', 'updated']]);
    expect(brief(at(p, 2 * COOLDOWN, [failover()]))).toEqual([['send', 'failover', 'updated']]);
  });

  it('a lost all-clear is re-sent after the cooldown, and ends the incident once delivered', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const allClear = at(p, COOLDOWN, [resolved()]);
    p.settled(allClear[0]!.notification, 'dropped');
    expect(brief(at(p, COOLDOWN + S, [resolved()]))).toEqual([['defer', 'failover', 'resolved']]);
    const resent = at(p, 2 * COOLDOWN, [resolved()]);
    expect(brief(resent)).toEqual([['send', 'failover', 'resolved']]);
    p.settled(resent[0]!.notification, 'delivered');
    expect(p.open()).toEqual([]);
  });

  it('a lost all-clear followed by a new failure: the failure is news at once', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const allClear = at(p, COOLDOWN, [resolved()]);
    p.settled(allClear[0]!.notification, 'failed');
    // Slack's last word is unknown: the truth ("failing") is re-sent when the cooldown allows.
    expect(brief(at(p, COOLDOWN + S, [failover({ since: T + COOLDOWN + S })]))).toEqual([['defer', 'failover', 'updated']]);
    expect(brief(at(p, 2 * COOLDOWN, [failover({ since: T + COOLDOWN + S })]))).toEqual([['send', 'failover', 'updated']]);
  });

  it('ignores outcomes of notices and of messages about an incident that is gone', () => {
    const p = policy();
    const notice = p.notice({ kind: 'planned_switch', message: 'notice', at: T, from: 'blue', to: 'green' }, false);
    p.settled(notice.notification, 'failed');
    const opened = at(p, 0, [failover()]);
    const stale: Notification = { ...incident(opened[0]), incidentId: 'failover:blue@1' };
    p.settled(stale, 'failed');
    expect(p.open()[0]?.told).not.toHaveProperty('lost');
    // A delivered opening does not end the incident.
    p.settled(opened[0]!.notification, 'delivered');
    expect(p.open()).toHaveLength(1);
  });

  // Regression (3d64290): while Slack is slow (retried for up to
  // SLACK_RETRY_FOR_SEC), a later message is decided behind an earlier one; the
  // earlier one's late failure marked the later, delivered one lost, and the
  // policy sent it again a cooldown later.
  it('a late failure of an earlier message does not repeat a later one that was delivered', () => {
    const p = policy();
    const opened = at(p, 0, [failover()]);
    // The opening is still being retried when the cooldown ends and an update is decided.
    const update = at(p, COOLDOWN, [failover({ level: 'flapping' })]);
    expect(brief(update)).toEqual([['send', 'failover', 'updated']]);
    p.settled(opened[0]!.notification, 'failed');
    p.settled(update[0]!.notification, 'delivered');
    // Slack's last word is the update, delivered, and still true.
    expect(at(p, 2 * COOLDOWN, [failover({ level: 'flapping' })])).toEqual([]);
  });
});

describe('NotifyPolicy: state across a restart', () => {
  it('restores open incidents, what Slack heard, the cooldown and the held-back changes', () => {
    const first = policy();
    at(first, 0, [failover(), outage()]);
    at(first, 10 * S, [resolved(), outage()]);
    const saved = JSON.parse(JSON.stringify(first.state()));
    expect(saved).toMatchObject({
      maintenance: false,
      quiet: 0,
      incidents: [
        { key: 'failover:blue', told: { active: true }, lastSentAt: T, deferred: 1, reported: { active: false, level: 'ok' } },
        { key: 'outage', told: { active: true, level: 'down' }, lastSentAt: T, deferred: 0 },
      ],
    });
    const second = policy({ restore: saved });
    expect(second.state()).toEqual(saved);
    // Not reported twice, not sent before the cooldown ends, and sent when it does.
    expect(at(second, 20 * S, [resolved(), outage()])).toEqual([]);
    const results = at(second, COOLDOWN, [resolved(), outage()]);
    expect(brief(results)).toEqual([['send', 'failover', 'resolved']]);
    expect(incident(results[0]).deferred).toBe(1);
  });

  it('a restart that finds maintenance ended still sends the summary', () => {
    const first = policy();
    at(first, 0, [failover()], true);
    const second = policy({ restore: JSON.parse(JSON.stringify(first.state())) });
    expect(brief(at(second, 60 * S, [failover()], false))).toEqual([['send', 'maintenance_ended', 'notice']]);
  });

  it('the state is a copy', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const state = p.state();
    state.incidents[0]!.deferred = 99;
    expect(p.open()[0]?.deferred).toBe(0);
  });

  // Regression (3d64290): a wall clock stepped backwards (NTP, or a state saved
  // by a host whose clock ran ahead) deferred every change of an open incident
  // for the size of the step, and stopped reminders for as long.
  it('does not let a clock stepped backwards silence an incident for the size of the step', () => {
    const p = policy();
    at(p, 0, [failover()]);
    const HOUR = 3_600_000;
    // The clock steps back an hour; a minute later (by the new clock) the failover resolves.
    expect(brief(at(p, -HOUR + COOLDOWN, [resolved()]))).toEqual([['send', 'failover', 'resolved']]);
  });

  it('a clock stepped backwards with a failing webhook re-sends once, then waits a cooldown by the new clock', () => {
    const p = policy();
    const opened = at(p, 0, [failover()]);
    p.settled(opened[0]!.notification, 'failed');
    const HOUR = 3_600_000;
    const resent = at(p, -HOUR, [failover()]);
    expect(brief(resent)).toEqual([['send', 'failover', 'updated']]);
    p.settled(resent[0]!.notification, 'failed');
    const meanwhile = [];
    for (let ms = -HOUR + S; ms < -HOUR + COOLDOWN; ms += S) meanwhile.push(...at(p, ms, [failover()]));
    expect(brief(meanwhile)).toEqual([['defer', 'failover', 'updated']]);
    expect(brief(at(p, -HOUR + COOLDOWN, [failover()]))).toEqual([['send', 'failover', 'updated']]);
  });
});
