// Notification → Slack Block Kit payload: the headline per kind and message,
// the fields, the runbook link, Block Kit's limits, and text a client
// controls kept inside inline code spans.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConditionView } from '../../../watcher/detect/index.js';
import { formatSlackMessage, formatTestMessage } from '../../../watcher/notify/slackMessage.js';
import type {
  IncidentNotification,
  MaintenanceNotification,
  Notification,
  PlannedSwitchNotification,
  ReleaseNotification,
  WatcherRestartedNotification,
} from '../../../watcher/policy/index.js';
import type { HistoryEntry } from '../../../watcher/history.js';
import { historyEntry } from './records.js';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../../../watcher/vocabulary.js';

const RUNBOOK = 'https://git.example.com/ops/runbook.md';
const AT = Date.UTC(2026, 10, 22, 0, 6, 32, 123);
const MIN = 60_000;

/** A Slack date token for `at`, which each reader sees in their own time zone, with its fallback. */
const slackDate = (at: number, fallback: string): string => `<!date^${Math.floor(at / 1000)}^{date_short_pretty} {time}|${fallback}>`;
const AT_DATE = slackDate(AT, '2026-11-22 00:06:32 UTC');
const UPDATED_2MIN = slackDate(AT + 2 * 60_000, '2026-11-22 00:08:32 UTC');

interface TextObject {
  type: string;
  text: string;
}
interface Payload {
  text: string;
  blocks: [
    { type: 'header'; text: TextObject },
    { type: 'section'; fields?: TextObject[]; text?: TextObject },
    { type: 'context'; elements: TextObject[] },
  ];
}

function condition(fields: Partial<ConditionView> = {}): ConditionView {
  return {
    key: 'failover:blue',
    kind: 'failover',
    active: true,
    level: 'failing',
    since: AT,
    at: AT,
    pool: 'blue',
    primaryPool: 'blue',
    servingPool: 'green',
    releases: { blue: 'blue-v1', green: 'green-v1' },
    failures: 5,
    flips: 3,
    recentFlips: 2,
    holdMs: 10_000,
    share: { failed: 1, attempts: 20 },
    sinceOpen: { failed: 7, attempts: 7 },
    window: {
      size: 200,
      count: 200,
      errors: 15,
      clientErrors: 1,
      upstreamErrors: 15,
      errorRate: 7.5,
      clientErrorRate: 0.5,
      upstreamErrorRate: 7.5,
      topFailingUpstream: { addr: '172.18.0.3:3000', failures: 15 },
    },
    thresholdPercent: 2,
    lastFailure: {
      method: 'GET',
      path: '/version',
      status: 200,
      upstreamStatuses: [500, 200],
      upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'],
      upstreamPools: ['blue', 'green'],
    },
    ...fields,
  };
}

/** Blue's replica 172.18.0.5 failed, another blue replica answered. */
function degraded(fields: Partial<ConditionView> = {}): ConditionView {
  const { flips: _f, recentFlips: _r, ...rest } = condition();
  return {
    ...rest,
    key: 'degraded:blue',
    kind: 'degraded',
    level: 'masked',
    servingPool: 'blue',
    replicas: [{ addr: '172.18.0.5:3000', failures: 4 }],
    sinceOpen: { failed: 5, attempts: 120 },
    lastFailure: {
      method: 'GET',
      path: '/version',
      status: 200,
      upstreamStatuses: [502, 200],
      upstreamAddrs: ['172.18.0.5:3000', '172.18.0.3:3000'],
      upstreamPools: ['blue', 'blue'],
    },
    ...fields,
  };
}

/** Not a failover: no pool, flips, share or count since it opened. */
function other(kind: 'outage' | 'error_rate', fields: Partial<ConditionView> = {}): ConditionView {
  const { pool: _p, flips: _f, recentFlips: _r, share: _s, sinceOpen: _o, ...rest } = condition();
  return { ...rest, key: kind, kind, level: kind === 'outage' ? 'down' : 'masked', ...fields };
}

function incident(fields: Partial<IncidentNotification> = {}, c: ConditionView = condition()): IncidentNotification {
  return {
    kind: c.kind,
    message: 'opened',
    incidentId: `${c.key}@${AT}`,
    openedAt: AT,
    at: AT,
    condition: c,
    deferred: 0,
    ...fields,
  };
}

const before = (fields: Partial<NonNullable<IncidentNotification['before']>> = {}): IncidentNotification['before'] => ({
  active: true,
  level: 'failing',
  failures: 1,
  flips: 1,
  at: AT,
  ...fields,
});

const planned = (fields: Partial<PlannedSwitchNotification> = {}): PlannedSwitchNotification => ({
  kind: 'planned_switch',
  message: 'notice',
  at: AT,
  from: 'blue',
  to: 'green',
  fromRelease: 'blue-v1',
  toRelease: 'green-v2',
  ...fields,
});

const maintenance = (fields: Partial<MaintenanceNotification> = {}): MaintenanceNotification => ({
  kind: 'maintenance_ended',
  message: 'notice',
  at: AT,
  open: [],
  resolved: [],
  quiet: 0,
  ...fields,
});

const release = (fields: Partial<HistoryEntry> = {}): ReleaseNotification => ({
  kind: 'release',
  message: 'notice',
  at: AT,
  entry: historyEntry({ time: new Date(AT).toISOString(), ...fields }),
});

const restarted = (downMs = 157_000): WatcherRestartedNotification => ({
  kind: 'watcher_restarted',
  message: 'notice',
  at: AT,
  downSince: AT - downMs,
});

function format(n: Notification, runbookUrl = RUNBOOK): Payload {
  return formatSlackMessage(n, { runbookUrl }) as unknown as Payload;
}

const fields = (p: Payload): TextObject[] => p.blocks[1].fields ?? [];

/** Field text by its bold label. */
function field(p: Payload, label: string): string | undefined {
  return fields(p)
    .find((x) => x.text.startsWith(`*${label}*\n`))
    ?.text.slice(label.length + 3);
}

const contextTexts = (p: Payload): string[] => p.blocks[2].elements.map((e) => e.text);

describe('formatSlackMessage headlines', () => {
  const resolvedFailover = condition({ active: false, level: 'ok', servingPool: 'blue' });
  it.each<[string, Notification, string, string]>([
    ['failover opened', incident(), 'Failover detected: pool changed blue → green', 'failover'],
    [
      'failover updated, flapping',
      incident({ message: 'updated', at: AT + MIN, before: before() }, condition({ level: 'flapping', recentFlips: 7 })),
      'Failover ongoing: blue flapping (7 pool changes in 10 min), green serving now',
      'failover',
    ],
    [
      'failover reminder',
      incident({ message: 'reminder', at: AT + 5 * MIN, before: before() }),
      'Failover still open after 5 min: blue failing, green serving',
      'failover',
    ],
    [
      'failover reminder while recovering',
      incident(
        { message: 'reminder', at: AT + 65 * MIN, before: before() },
        condition({ level: 'recovering', servingPool: 'blue', steadyForMs: 4_000 }),
      ),
      'Failover still open after 1 h 5 min: blue serving again for 4 s, all-clear after 10 s steady',
      'failover',
    ],
    [
      'failover resolved',
      incident({ message: 'resolved', at: AT + 2 * MIN, before: before() }, resolvedFailover),
      'Recovered: pool changed green → blue, steady for 10 s',
      'failover',
    ],
    [
      'failover closed by a planned switch',
      incident({ message: 'resolved', at: AT + MIN, before: before() }, condition({ active: false, level: 'ok', primaryPool: 'green' })),
      'Failover closed: blue is no longer the primary (planned switch to green)',
      'failover',
    ],
    [
      'failover update after a lost message',
      incident({ message: 'updated', at: AT + MIN, before: before({ lost: true }) }),
      'Failover update: blue failing, green serving',
      'failover',
    ],
    ['outage opened', incident({}, other('outage')), 'Outage: no pool could answer; clients get 503 errors', 'outage'],
    [
      'degraded pool opened',
      incident({}, degraded()),
      'Degraded pool: blue replica 172.18.0.5:3000 failing, the other blue replicas serve (no failover)',
      'degraded-pool',
    ],
    [
      'degraded pool worse, five replicas failing',
      incident(
        { message: 'updated', at: AT + MIN, before: before({ level: 'recovering' }) },
        degraded({ replicas: [1, 2, 3, 4, 5].map((i) => ({ addr: `10.0.0.${i}:3000`, failures: 1 })) }),
      ),
      'Degraded pool worse: blue replicas 10.0.0.1:3000, 10.0.0.2:3000, 10.0.0.3:3000 and 2 more failing, the other blue replicas serve',
      'degraded-pool',
    ],
    [
      'degraded pool resolved',
      incident({ message: 'resolved', at: AT + 2 * MIN, before: before() }, degraded({ active: false, level: 'ok' })),
      'Degraded pool resolved: no blue replica has failed, steady for 10 s',
      'degraded-pool',
    ],
    [
      'outage better',
      incident({ message: 'updated', at: AT + MIN, before: before({ level: 'down' }) }, other('outage', { level: 'recovering', steadyForMs: 3_000 })),
      'Outage better: requests succeed again for 3 s, all-clear after 10 s steady',
      'outage',
    ],
    [
      'outage resolved',
      incident({ message: 'resolved', at: AT + MIN, before: before({ level: 'down' }) }, other('outage', { active: false, level: 'ok' })),
      'Outage resolved: requests succeed again, steady for 10 s',
      'outage',
    ],
    [
      'error rate opened',
      incident({}, other('error_rate')),
      'High error rate: 7.5% of the last 200 requests failed (threshold 2%)',
      'high-error-rate',
    ],
    [
      'error rate worse',
      incident({ message: 'updated', at: AT + MIN, before: before({ level: 'masked' }) }, other('error_rate', { level: 'client_visible' })),
      'High error rate worse: 7.5% of the last 200 requests failed (threshold 2%), clients see errors',
      'high-error-rate',
    ],
    [
      'error rate better',
      incident({ message: 'updated', at: AT + MIN, before: before({ level: 'client_visible' }) }, other('error_rate')),
      'High error rate better: 7.5% of the last 200 requests failed (threshold 2%), retries hide them from clients',
      'high-error-rate',
    ],
    [
      'error rate resolved',
      incident(
        { message: 'resolved', at: AT + MIN, before: before({ level: 'masked' }) },
        other('error_rate', { active: false, level: 'ok', window: { ...condition().window, errorRate: 0.5 } }),
      ),
      'Error rate resolved: 0.5% of the last 200 requests (threshold 2%)',
      'high-error-rate',
    ],
    ['planned switch', planned(), 'Planned switch: pool changed blue → green', 'planned-switch'],
    ['maintenance ended, nothing open', maintenance(), 'Maintenance ended: nothing is open', 'maintenance'],
    ['maintenance ended, one open', maintenance({ open: [condition()] }), 'Maintenance ended: 1 incident open', 'maintenance'],
    [
      'maintenance ended, two open',
      maintenance({ open: [condition(), other('outage')] }),
      'Maintenance ended: 2 incidents open',
      'maintenance',
    ],
  ])('%s', (_, n, headline, anchor) => {
    const p = format(n);
    expect(p.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: headline } });
    // The notification text is the headline; later messages say how long the incident has been open.
    const open = n.message !== 'notice' && n.message !== 'opened';
    expect(p.text.startsWith(headline)).toBe(true);
    if (!open) expect(p.text).toBe(headline);
    expect(p.blocks[2].elements[0]).toEqual({ type: 'mrkdwn', text: `Runbook: ${RUNBOOK}#${anchor}` });
  });

  it('says how long the incident has been open in the text of every message after the first', () => {
    const p = format(incident({ message: 'reminder', at: AT + 125 * MIN, before: before() }));
    expect(p.text).toBe('Failover still open after 2 h 5 min: blue failing, green serving (open 2 h 5 min)');
  });

  it('formats percentages with at most one decimal, and durations by their largest units', () => {
    const c = other('error_rate', { thresholdPercent: 2.25, window: { ...condition().window, errorRate: 100 / 3, count: 50 } });
    expect(format(incident({}, c)).text).toBe('High error rate: 33.3% of the last 50 requests failed (threshold 2.3%)');
    const d = other('error_rate', { thresholdPercent: 5, window: { ...condition().window, errorRate: 7.96 } });
    expect(format(incident({}, d)).text).toBe('High error rate: 8% of the last 200 requests failed (threshold 5%)');
    const reminder = (ms: number) => format(incident({ message: 'reminder', at: AT + ms, before: before() })).blocks[0].text.text;
    expect(reminder(45_000)).toMatch(/after 45 s:/);
    expect(reminder(4 * MIN + 12_000)).toMatch(/after 4 min 12 s:/);
    expect(reminder(120 * MIN)).toMatch(/after 2 h:/);
  });

  it('uses the arrow U+2192', () => {
    expect(format(incident()).text).toContain('\u2192');
  });
});

describe('formatSlackMessage: runbook links', () => {
  it('replaces a fragment already on the runbook URL, and escapes the URL for mrkdwn', () => {
    expect(format(planned(), `${RUNBOOK}#top`).blocks[2].elements[0]?.text).toBe(`Runbook: ${RUNBOOK}#planned-switch`);
    expect(format(incident(), 'https://x/r?a=1&b=2').blocks[2].elements[0]?.text).toBe('Runbook: https://x/r?a=1&amp;b=2#failover');
  });

  it('every anchor is a heading of runbook.md', () => {
    const headings = readFileSync('docs/runbook.md', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3).trim().toLowerCase().replace(/\s+/g, '-'));
    const all: Notification[] = [
      incident(),
      incident({}, other('outage')),
      incident({}, other('error_rate')),
      incident({}, degraded()),
      planned(),
      maintenance(),
      release(),
      restarted(),
    ];
    for (const n of all) {
      const anchor = format(n).blocks[2].elements[0]?.text.split('#')[1];
      expect(headings).toContain(anchor);
    }
  });
});

describe('formatSlackMessage: fields and context', () => {
  it('an open failover shows both pools with releases, the failing pool since it failed, pool changes, clients, the request and since when', () => {
    const p = format(incident({ at: AT + 90_000 }));
    expect(fields(p).every((f) => f.type === 'mrkdwn')).toBe(true);
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*Failing pool (release)*': 'blue (`blue-v1`)',
      '*Serving pool (release)*': 'green (`green-v1`)',
      '*Blue since it failed*': '7 of 7 attempts failed (Nginx retried them on green)',
      '*Pool changes*': '3 while open, 2 in the last 10 min',
      '*Client-visible 5xx*': '0.5% (1 of 200)',
      '*Last failed request*': '`GET /version`: blue answered 500 (`172.18.0.3:3000`), the client got 200 from green',
      '*Open since*': `${AT_DATE} (1 min 30 s)`,
    });
    // The last line says when the message was made: with a bot token, when it was last edited.
    expect(contextTexts(p)).toEqual([`Runbook: ${RUNBOOK}#failover`, `Incident failover:blue@${AT} · last updated ${slackDate(AT + 90_000, '2026-11-22 00:08:02 UTC')}`]);
  });

  // Issue 25: "Failed attempts: 2.9% (1) of the last 34 attempts to blue" while blue answered 500 to everything.
  it('counts the failing pool since the incident opened, not over a window of the successes before it', () => {
    const p = format(incident({}, condition({ share: { failed: 1, attempts: 34 }, sinceOpen: { failed: 2, attempts: 2 } })));
    expect(field(p, 'Blue since it failed')).toBe('2 of 2 attempts failed (Nginx retried them on green)');
    expect(field(p, 'Failed attempts')).toBeUndefined();
    expect(JSON.stringify(p.blocks)).not.toContain('of the last 34');
    const one = format(incident({}, condition({ sinceOpen: { failed: 1, attempts: 1 } })));
    expect(field(one, 'Blue since it failed')).toBe('1 of 1 attempt failed (Nginx retried it on green)');
    // Opened by a pool change before any attempt of blue's was logged.
    const none = format(incident({}, condition({ sinceOpen: { failed: 0, attempts: 0 } })));
    expect(field(none, 'Blue since it failed')).toBe('no attempts yet: Nginx sends its requests to green');
    // A view saved before the count was kept: the window's share, said as such.
    const saved = format(incident({}, condition({ sinceOpen: undefined })));
    expect(field(saved, 'Failed attempts')).toBe('5% (1) of the last 20 attempts to blue');
  });

  it('a recovering failover names the one pool, serving again, and its attempts since it failed without a retry', () => {
    const c = condition({ level: 'recovering', servingPool: 'blue', steadyForMs: 4_000, sinceOpen: { failed: 6, attempts: 36 } });
    const p = format(incident({ message: 'updated', at: AT + MIN, before: before() }, c));
    expect(field(p, 'Recovering pool (release)')).toBe('blue (`blue-v1`)');
    expect(field(p, 'Failing pool (release)')).toBeUndefined();
    expect(field(p, 'Serving pool (release)')).toBeUndefined();
    expect(field(p, 'Blue since it failed')).toBe('6 of 36 attempts failed');
  });

  it('leaves out the pool changes while the one that opened it is all there is', () => {
    expect(field(format(incident({}, condition({ flips: 1, recentFlips: 1 }))), 'Pool changes')).toBeUndefined();
  });

  it('a degraded pool shows the pool, each failing replica in code with its failed attempts, and the pool since it degraded', () => {
    const p = format(incident({}, degraded({ replicas: [{ addr: '172.18.0.5:3000', failures: 4 }, { addr: '172.18.0.6:3000', failures: 1 }] })));
    expect(field(p, 'Degraded pool (release)')).toBe('blue (`blue-v1`)');
    expect(field(p, 'Failing replicas')).toBe('`172.18.0.5:3000` (4 failed attempts)\n`172.18.0.6:3000` (1 failed attempt)');
    expect(field(p, 'Blue since it degraded')).toBe('5 of 120 attempts failed (other blue replicas answered them)');
    expect(field(p, 'Last failed request')).toBe(
      '`GET /version`: blue answered 502 (`172.18.0.5:3000`), the client got 200 from blue (`172.18.0.3:3000`)',
    );
    expect(field(p, 'Serving pool (release)')).toBeUndefined();
    expect(field(p, 'Failed attempts')).toBeUndefined();
  });

  it('an error rate shows both shares of the window and the upstream that failed most', () => {
    const p = format(incident({}, other('error_rate')));
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*Serving pool (release)*': 'green (`green-v1`)',
      '*Client-visible 5xx*': '0.5% (1 of 200)',
      '*Upstream 5xx*': '7.5% (15 of 200, window 200)',
      '*Top failing upstream*': '`172.18.0.3:3000` (15 failed attempts)',
      '*Last failed request*': '`GET /version`: blue answered 500 (`172.18.0.3:3000`), the client got 200 from green',
      '*Open since*': `${AT_DATE} (0 s)`,
    });
  });

  it('an outage shows both pools’ releases, what clients got, and whose each status was', () => {
    const lastFailure = {
      method: 'GET',
      path: '/version',
      status: 503,
      upstreamStatuses: [500, 502],
      upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'],
      upstreamPools: ['blue' as const, 'green' as const],
    };
    const p = format(incident({}, other('outage', { lastFailure })));
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*Pools (releases)*': 'blue (`blue-v1`), green (`green-v1`)',
      '*Client-visible 5xx*': '0.5% (1 of 200)',
      '*Last failed request*': "`GET /version`: blue answered 500 (`172.18.0.3:3000`), green answered 502 (`172.18.0.4:3000`), the client got Nginx's 503",
      '*Open since*': `${AT_DATE} (0 s)`,
    });
  });

  // Issue 25: "Last failed request: `GET /version` → 200", a failed request with a 200, the client's status and not blue's.
  it.each<[string, Partial<NonNullable<ConditionView['lastFailure']>>, string]>([
    ['retried on the backup', {}, 'blue answered 500 (`172.18.0.3:3000`), the client got 200 from green'],
    [
      'timed out, then retried',
      { upstreamStatuses: [504, 200] },
      'blue answered 504 (`172.18.0.3:3000`), the client got 200 from green',
    ],
    [
      'not retried (a POST)',
      { method: 'POST', status: 500, upstreamStatuses: [500], upstreamAddrs: ['172.18.0.3:3000'], upstreamPools: ['blue'] },
      "blue answered 500 (`172.18.0.3:3000`), the client got blue's 500",
    ],
    ['no attempt at all', { status: 502, upstreamStatuses: [], upstreamAddrs: [], upstreamPools: [] }, 'Nginx tried no pool, the client got its 502'],
    [
      'a sample saved before the pools were kept',
      { upstreamPools: undefined },
      '`172.18.0.3:3000` answered 500, the client got 200 from `172.18.0.4:3000`',
    ],
    ['neither pools nor addresses', { upstreamPools: undefined, upstreamAddrs: [] }, 'an upstream answered 500, the client got 200 from an upstream'],
  ])('says whose each status was: %s', (_, sample, text) => {
    const c = condition();
    const p = format(incident({}, condition({ lastFailure: { ...c.lastFailure!, ...sample } })));
    expect(field(p, 'Last failed request')).toBe(`\`${sample.method ?? 'GET'} /version\`: ${text}`);
  });

  it('a resolved failover says which pool is back, how long it lasted, when it opened and resolved, and nothing of its failures', () => {
    // Resolved at +1 min 40 s; the message follows a cooldown later.
    const c = condition({ active: false, level: 'ok', servingPool: 'blue', since: AT + 100_000 });
    const p = format(incident({ message: 'resolved', at: AT + 2 * MIN, before: before() }, c));
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*Recovered pool (release)*': 'blue (`blue-v1`)',
      '*Lasted*': '1 min 40 s',
      '*Opened*': AT_DATE,
      '*Resolved*': slackDate(AT + 100_000, '2026-11-22 00:08:12 UTC'),
    });
  });

  it('each kind’s all-clear carries no failing pool, failure count, request or open time', () => {
    const closed = condition({ active: false, level: 'ok', primaryPool: 'green', since: AT + MIN });
    const cases: [ConditionView, Record<string, string>][] = [
      [closed, { 'Pool that failed (release)': 'blue (`blue-v1`)', 'Primary now (release)': 'green (`green-v1`)' }],
      [degraded({ active: false, level: 'ok', since: AT + MIN }), { 'Recovered pool (release)': 'blue (`blue-v1`)' }],
      [other('outage', { active: false, level: 'ok', servingPool: 'blue', since: AT + MIN }), { 'Serving pool (release)': 'blue (`blue-v1`)' }],
      [other('error_rate', { active: false, level: 'ok', since: AT + MIN }), { 'Serving pool (release)': 'green (`green-v1`)' }],
    ];
    for (const [c, pools] of cases) {
      const p = format(incident({ message: 'resolved', at: AT + 2 * MIN, before: before() }, c));
      const labels = fields(p).map((f) => f.text.split('\n')[0]?.slice(1, -1));
      expect(labels).toEqual([...Object.keys(pools), 'Lasted', 'Opened', 'Resolved']);
      for (const [label, value] of Object.entries(pools)) expect(field(p, label)).toBe(value);
      expect(field(p, 'Lasted')).toBe('1 min');
      expect(JSON.stringify(p.blocks)).not.toMatch(/Failing|attempts|5xx|Last failed|Open since/);
    }
  });

  it('says what happened since the last message, and how many changes the cooldown held back', () => {    const p = format(incident({ message: 'updated', at: AT + 2 * MIN, before: before({ at: AT + MIN }), deferred: 2 }, condition({ level: 'flapping' })));
    expect(contextTexts(p)).toEqual([
      `Runbook: ${RUNBOOK}#failover`,
      'Since the last message (1 min ago): 4 failed attempts on the pool, 2 pool changes, 2 changes held back by the cooldown',
      `Incident failover:blue@${AT} · last updated ${UPDATED_2MIN}`,
    ]);
    const one = format(incident({ message: 'reminder', at: AT + MIN, before: before(), deferred: 1 }, other('outage')));
    expect(contextTexts(one)[1]).toBe('Since the last message (1 min ago): 4 requests no pool could answer, 1 change held back by the cooldown');
    const none = format(incident({ message: 'reminder', at: AT + MIN, before: before() }, other('error_rate')));
    expect(contextTexts(none)[1]).toBe('Since the last message (1 min ago): 4 requests with errors');
    // An all-clear counts no failures: only what the cooldown held back, if anything.
    const resolved = (deferred: number) =>
      format(incident({ message: 'resolved', at: AT + 2 * MIN, before: before({ at: AT + MIN }), deferred }, condition({ active: false, level: 'ok' })));
    expect(contextTexts(resolved(2))).toEqual([
      `Runbook: ${RUNBOOK}#failover`,
      'Since the last message (1 min ago): 2 changes held back by the cooldown',
      `Incident failover:blue@${AT} · last updated ${UPDATED_2MIN}`,
    ]);
    expect(contextTexts(resolved(0))).toEqual([`Runbook: ${RUNBOOK}#failover`, `Incident failover:blue@${AT} · last updated ${UPDATED_2MIN}`]);
  });

  it('shows "-" for everything unknown', () => {
    const c = other('error_rate', {
      releases: {},
      lastFailure: { status: 502, upstreamStatuses: [], upstreamAddrs: [] },
      window: { ...condition().window, topFailingUpstream: undefined },
    });
    const p = format(incident({ openedAt: Number.NaN }, c));
    expect(field(p, 'Serving pool (release)')).toBe('green (-)');
    expect(field(p, 'Top failing upstream')).toBe('-');
    expect(field(p, 'Last failed request')).toBe('`- -`: Nginx tried no pool, the client got its 502');
    expect(field(p, 'Open since')).toMatch(/^- \(/);
    const bare = format(
      incident({}, condition({ lastFailure: undefined, share: undefined, sinceOpen: undefined, flips: undefined, recentFlips: undefined })),
    );
    expect(field(bare, 'Last failed request')).toBeUndefined();
    expect(field(bare, 'Failed attempts')).toBe('0% of the last 0 attempts to blue');
    expect(field(bare, 'Pool changes')).toBeUndefined();
  });

  // Issue 25: "Open since 2026-12-06T02:11:50.416Z", ISO with milliseconds, in UTC.
  it('shows every time as a Slack date, which each reader sees in their own time zone, with a UTC fallback to the second', () => {
    const resolved = condition({ active: false, level: 'ok', servingPool: 'blue', since: AT + MIN });
    const past: Notification = { kind: 'past_incident', message: 'notice', at: AT + 5 * MIN, condition: resolved, openedAt: AT, resolvedAt: AT + MIN };
    const all: Payload[] = [
      format(incident()),
      format(incident({ message: 'resolved', at: AT + 2 * MIN, before: before() }, resolved)),
      format(past),
      format(planned()),
      format(release()),
      format(restarted()),
      formatTestMessage({ at: AT, who: 'alice@ops-1', edited: AT + MIN }) as unknown as Payload,
    ];
    for (const p of all) {
      const text = JSON.stringify(p.blocks[1]);
      expect(text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
      expect(text).toMatch(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC>/);
    }
    // After the fact: the incident's all-clear fields, and why it comes only now.
    expect(field(format(past), 'Opened')).toBe(AT_DATE);
    expect(field(format(past), 'Resolved')).toBe(slackDate(AT + MIN, '2026-11-22 00:07:32 UTC'));
    expect(field(format(past), 'Told now because')).toMatch(/^The watcher was down/);
  });

  it('a planned switch shows pools, releases and time', () => {
    const p = format(planned());
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*From pool (release)*': 'blue (`blue-v1`)',
      '*To pool (release)*': 'green (`green-v2`)',
      '*Time*': AT_DATE,
    });
    expect(field(format(planned({ fromRelease: undefined, toRelease: undefined })), 'To pool (release)')).toBe('green (-)');
    expect(contextTexts(p)).toEqual([`Runbook: ${RUNBOOK}#planned-switch`]);
  });

  it('a maintenance summary lists what is open, what resolved, and how many came and went', () => {
    const p = format(
      maintenance({
        at: AT + 3 * MIN,
        open: [condition({ level: 'flapping', recentFlips: 6 })],
        resolved: [other('outage', { active: false, level: 'ok' })],
        quiet: 2,
      }),
    );
    expect(p.blocks[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          'Open: Failover: blue flapping (6 pool changes in 10 min), green serving now (since 3 min)',
          'Resolved during maintenance: Outage',
          '2 more opened and resolved during maintenance',
        ].join('\n'),
      },
    });
    expect(format(maintenance()).blocks[1].text?.text).toBe('No incident opened during maintenance.');
  });

  it('is a pure function of its input', () => {
    const n = incident({ message: 'updated', before: before(), deferred: 2 });
    const copy = structuredClone(n);
    expect(format(n)).toEqual(format(n));
    expect(n).toEqual(copy);
  });
});

describe('formatSlackMessage: release notices', () => {
  const none = { pool: undefined, fromPool: undefined, release: undefined, fromRelease: undefined };
  it.each<[string, Partial<HistoryEntry>, string]>([
    ['started', {}, 'Release r2 started on green (idle); blue keeps serving r1'],
    ['blocked', { outcome: 'blocked' }, 'Release r2 blocked before promotion: traffic stays on blue'],
    ['promoted', { outcome: 'promoted' }, 'Release r2 promoted: green serves it, blue keeps r1 as warm backup'],
    ['rolled back', { outcome: 'rolled_back' }, 'Release r2 rolled back automatically: traffic back on blue (r1)'],
    ['interrupted', { outcome: 'interrupted' }, 'Release r2 interrupted: traffic on blue'],
    ['finished', { outcome: 'ok' }, 'Release r2 finished: green serves it'],
    ['failed', { outcome: 'failed' }, 'Release r2 failed on green'],
    ['refused', { outcome: 'refused' }, 'Release r2 refused: nothing changed'],
    [
      'a rollback',
      { action: 'rollback', outcome: 'ok', pool: 'blue', fromPool: 'green', release: 'r1', fromRelease: 'r2' },
      'Rolled back: traffic moved green → blue (r2 → r1)',
    ],
    ['started, nothing else known', none, 'Release started'],
    ['started, no release before', { fromRelease: undefined }, 'Release r2 started on green (idle); blue keeps serving'],
    ['promoted, no release before', { outcome: 'promoted', fromRelease: undefined }, 'Release r2 promoted: green serves it, blue keeps the previous release as warm backup'],
    ['rolled back, no pools', { ...none, outcome: 'rolled_back', release: 'r2' }, 'Release r2 rolled back automatically'],
    ['a rollback, target only', { ...none, action: 'rollback', outcome: 'ok', pool: 'blue', release: 'r1' }, 'Rolled back: traffic on blue (r1)'],
    ['a rollback, nothing else known', { ...none, action: 'rollback', outcome: 'ok' }, 'Rolled back'],
  ])('%s', (_, fields, headline) => {
    const p = format(release(fields));
    expect(p.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: headline } });
    expect(p.text).toBe(headline);
    expect(contextTexts(p)).toEqual([`Runbook: ${RUNBOOK}#releases`]);
  });

  it('no headline, for any action and outcome, reads like a failover page', () => {
    for (const action of AUDIT_ACTIONS) {
      for (const outcome of AUDIT_OUTCOMES) {
        const text = format(release({ action, outcome })).text;
        expect(text).not.toMatch(/failover|failing/i);
        expect(text.length).toBeGreaterThan(0);
      }
    }
  });

  it('shows the releases and pools, the reason in code, who and when', () => {
    const p = format(release({ outcome: 'blocked', reason: 'canary <!channel> *5%* failed `x`', durationMs: 252_000 }));
    expect(Object.fromEntries(fields(p).map((f) => f.text.split('\n')))).toEqual({
      '*Release*': '`r1` → `r2`',
      '*Pools*': 'blue → green',
      '*Reason*': '`canary &lt;!channel&gt; *5%* failed ˋxˋ`',
      '*Who*': '`alice@host1`',
      '*Time*': `${AT_DATE} (took 4 min 12 s)`,
    });
  });

  it('leaves out what the entry does not say', () => {
    const p = format(release({ pool: undefined, fromPool: undefined, release: undefined, fromRelease: undefined }));
    expect(fields(p).map((f) => f.text.split('\n')[0])).toEqual(['*Who*', '*Time*']);
    expect(field(format(release({ fromPool: undefined, fromRelease: undefined })), 'Pools')).toBe('green');
  });
});

describe('formatSlackMessage: Block Kit limits', () => {
  it('keeps the header within 150 characters', () => {
    // Every number as large as the schema allows: a reminder after years, windows of billions.
    const huge = Number.MAX_SAFE_INTEGER;
    const window = { ...condition().window, count: huge, size: huge, errorRate: 33.33, clientErrorRate: 99.99 };
    const c = other('error_rate', { level: 'client_visible', thresholdPercent: 33.33, window });
    const p = format(incident({ message: 'reminder', openedAt: 0, at: huge, before: before() }, c));
    const header = p.blocks[0].text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header.startsWith('High error rate still open after ')).toBe(true);
    // Past the schema (a pool name is "blue" or "green"), the header is still cut to the limit.
    const long = format(planned({ from: 'p'.repeat(500) as 'blue' })).blocks[0].text.text;
    expect(long).toHaveLength(150);
    expect(long).toMatch(/^Planned switch: pool changed p+…$/);
  });

  it('keeps at most 10 fields of at most 2000 characters each', () => {
    const addrs = Array.from({ length: 8 }, () => `${'&'.repeat(90)}:3000`);
    for (const c of [
      condition({ lastFailure: { method: 'GET', path: '&'.repeat(2_048), status: 200, upstreamStatuses: [500, 200], upstreamAddrs: addrs } }),
      other('error_rate', { window: { ...condition().window, topFailingUpstream: { addr: '<'.repeat(100), failures: 1 } } }),
    ]) {
      const p = format(incident({}, c));
      expect(fields(p).length).toBeLessThanOrEqual(10);
      for (const f of fields(p)) expect(f.text.length).toBeLessThanOrEqual(2000);
    }
  });

  it('never cuts inside an entity or a surrogate pair', () => {
    // A path of '&' grows fivefold when escaped: the field is cut, after a whole entity.
    for (let pad = 0; pad < 6; pad++) {
      const path = `${'x'.repeat(pad)}${'&'.repeat(2_000)}`;
      const c = condition({ lastFailure: { method: 'GET', path, status: 200, upstreamStatuses: [500, 200], upstreamAddrs: [] } });
      const text = field(format(incident({}, c)), 'Last failed request') ?? '';
      expect(text.length).toBeLessThanOrEqual(2000 - '*Last failed request*\n'.length);
      expect(text).toMatch(/^`GET x*(&amp;)+…/);
    }
    // A release over the code span's 500 characters is cut before a lone surrogate.
    for (let pad = 0; pad < 2; pad++) {
      const c = condition({ releases: { blue: `${'x'.repeat(pad)}${'😀'.repeat(300)}` } });
      const text = field(format(incident({}, c)), 'Failing pool (release)') ?? '';
      expect(text).toMatch(/^blue \(`x*(😀)+…`\)$/u);
    }
  });
});

describe('formatSlackMessage: client-controlled text', () => {
  const EVIL = '/x*bold*_it_<!here>@here https://evil.example/ with`backtick`';
  const FORBIDDEN = ['*bold*', '_it_', '<!here>', '&lt;!here&gt;', '@here', 'evil.example', 'backtick'];

  /** The text with every inline code span taken out: what Slack formats. */
  const outsideCode = (text: string): string => text.replace(/`[^`\n]*`/g, '');

  function expectOnlyInCode(p: Payload): void {
    for (const forbidden of FORBIDDEN) {
      expect(p.text).not.toContain(forbidden);
      expect(p.blocks[0].text.text).not.toContain(forbidden);
    }
    const mrkdwn = [...fields(p), ...(p.blocks[1].text === undefined ? [] : [p.blocks[1].text]), ...p.blocks[2].elements];
    for (const t of mrkdwn) {
      const outside = outsideCode(t.text);
      for (const forbidden of FORBIDDEN) expect(outside, t.text.slice(0, 200)).not.toContain(forbidden);
      // No stray backtick: every span that opened was closed.
      expect(outside, t.text.slice(0, 200)).not.toContain('`');
    }
  }

  it('shows a request path only inside an inline code span, backticks replaced and &<> escaped', () => {
    const c = condition({ lastFailure: { method: 'GET', path: EVIL, status: 200, upstreamStatuses: [500, 200], upstreamAddrs: ['a:1', 'b:2'] } });
    const p = format(incident({}, c));
    expect(field(p, 'Last failed request')).toBe(
      '`GET /x*bold*_it_&lt;!here&gt;@here https://evil.example/ withˋbacktickˋ`: `a:1` answered 500, the client got 200 from `b:2`',
    );
    expectOnlyInCode(p);
  });

  it('keeps a method, releases and addresses in code spans too, and ends a span at no newline', () => {
    const c = condition({
      releases: { blue: EVIL, green: `line1\nline2${EVIL}` },
      lastFailure: { method: `PO\r\nST${EVIL}`.slice(0, 32), path: `/a\n*b*`, status: 200, upstreamStatuses: [500], upstreamAddrs: [EVIL.slice(0, 100)] },
    });
    const p = format(incident({}, c));
    expect(field(p, 'Serving pool (release)')).toMatch(/^green \(`line1 line2\/x\*bold\*/);
    expectOnlyInCode(p);
    const n = planned({ fromRelease: EVIL, toRelease: EVIL });
    expectOnlyInCode(format(n));
  });

  it('an error rate incident keeps the top failing upstream in code', () => {
    const c = other('error_rate', {
      window: { ...condition().window, topFailingUpstream: { addr: EVIL.slice(0, 100), failures: 3 } },
      lastFailure: { method: 'GET', path: EVIL, status: 503, upstreamStatuses: [500, 500], upstreamAddrs: [] },
    });
    expectOnlyInCode(format(incident({ message: 'updated', before: before({ level: 'client_visible' }) }, c)));
  });

  it('a maintenance summary quotes no request', () => {
    const c = condition({ lastFailure: { method: 'GET', path: EVIL, status: 200, upstreamStatuses: [500, 200], upstreamAddrs: [] } });
    expectOnlyInCode(format(maintenance({ open: [c], resolved: [c], quiet: 1 })));
  });

  // Regression (3d64290): code() cut the raw value and then escaped it, which
  // can grow it fivefold (& → &amp;); the field's own cut then took the closing
  // backtick, and Slack formatted everything after the opening one: bold,
  // italics and links.
  it('keeps a long path whose escaping grows it past the field limit inside a closed code span', () => {
    const path = `${EVIL}?${'&'.repeat(2_000)}`.slice(0, 2_048);
    const c = condition({ lastFailure: { method: 'GET', path, status: 200, upstreamStatuses: [500, 200], upstreamAddrs: ['a:1'] } });
    const p = format(incident({}, c));
    for (const f of fields(p)) expect(f.text.length).toBeLessThanOrEqual(2000);
    expectOnlyInCode(p);
  });
});

describe('formatSlackMessage: without a runbook URL', () => {
  it('has no runbook line at all, and no empty context block Slack would reject', () => {
    const p = formatSlackMessage(planned(), { runbookUrl: undefined }) as unknown as Payload;
    expect(p.blocks.map((b) => b.type)).toEqual(['header', 'section']);
    expect(JSON.stringify(p)).not.toContain('Runbook');
    // An incident keeps its other context: the incident id.
    const i = formatSlackMessage(incident(), { runbookUrl: undefined }) as unknown as Payload;
    expect(contextTexts(i).some((t) => t.startsWith('Runbook'))).toBe(false);
    expect(contextTexts(i).some((t) => t.startsWith('Incident '))).toBe(true);
  });
});

describe('formatSlackMessage: the watcher was down', () => {
  it('says it was an unclean stop, for how long and from when to when', () => {
    const p = format(restarted());
    expect(p.text).toBe('Watcher restarted after an unclean stop: down 2 min 37 s, from 00:03:55 to 00:06:32 UTC');
    expect(field(p, 'Down since')).toBe(`${slackDate(AT - 157_000, '2026-11-22 00:03:55 UTC')} (last sign of life)`);
    expect(field(p, 'Back at')).toBe(AT_DATE);
    expect(field(p, 'Meanwhile')).toMatch(/alerts about that time follow/);
    expect(contextTexts(p)).toEqual([`Runbook: ${RUNBOOK}#watcher-restarted`]);
  });

  it('is not worded like a failover or an outage', () => {
    expect(format(restarted(3 * 3_600_000)).text).not.toMatch(/failover|outage|pool changed/i);
  });
});

describe('formatTestMessage', () => {
  it('is marked as a test in its first words, says who sent it, and links nothing', () => {
    const p = formatTestMessage({ at: AT, who: 'alice@ops-1' }) as unknown as Payload;
    expect(p.text).toMatch(/^Test alert\b.*no action needed/);
    expect(p.blocks[0].text.text).toBe(p.text);
    expect(field(p, 'Sent by')).toBe('`alice@ops-1`');
    expect(field(p, 'Time')).toBe(AT_DATE);
    expect(p.blocks).toHaveLength(2);
    const edited = formatTestMessage({ at: AT, who: 'alice@ops-1', edited: AT + MIN }) as unknown as Payload;
    expect(field(edited, 'Edited')).toBe(`${slackDate(AT + MIN, '2026-11-22 00:07:32 UTC')}: incidents' messages are kept current like this`);
  });
});
