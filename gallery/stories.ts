// The gallery's stories: one fixed day of the stack, every kind of message
// the watcher sends, with fixed times, pools, releases and requests (no
// clock is read), so the page is the same on every run. Times that the
// settings decide (the cooldown, the recovery hold, the reminder) are
// computed from them, the watcher's defaults.
import { DEGRADED_MIN_HOLD_MS, FLAP_FLIPS, type ConditionView, type RequestSample, type WindowStats } from '../watcher/detect/index.js';
import type { PipelineSettings } from '../watcher/config.js';
import type { HistoryEntry } from '../watcher/history.js';
import { duration } from '../watcher/notify/wording.js';
import type { NoticeNotification, ReleaseNotification } from '../watcher/policy/index.js';
import type { Story } from './story.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** Tuesday 10 March 2026, UTC: the day of every story. */
const day = (h: number, m: number, s = 0) => Date.UTC(2026, 2, 10, h, m, s);

/** What a fresh stack runs (.env.example), and the releases the release stories ship. */
const FRESH = { blue: 'blue-v1.0.0', green: 'green-v1.0.0' };
const WHO = 'alice@ops-laptop';
// Container addresses on the Compose network: one replica per pool, or three.
const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';
const BLUE_2 = '172.18.0.5:3000';
const BLUE_3 = '172.18.0.6:3000';

/** Which pool each address is, as the detector records it with each attempt. */
const POOL_OF: Record<string, 'blue' | 'green'> = { [BLUE]: 'blue', [GREEN]: 'green', [BLUE_2]: 'blue', [BLUE_3]: 'blue' };
/** A request sample with its attempts' pools, as the detector keeps it. */
const sample = (r: Omit<RequestSample, 'upstreamPools'>): RequestSample => ({ ...r, upstreamPools: r.upstreamAddrs.map((a) => POOL_OF[a]!) });

/** A request that failed on blue and that Nginx retried on green: the client got a 200. */
const retried = (path = '/version', to = GREEN, from = BLUE): RequestSample =>
  sample({ method: 'GET', path, status: 200, upstreamStatuses: [500, 200], upstreamAddrs: [from, to] });

export function stories(s: PipelineSettings): Story[] {
  const hold = duration(s.recoveryHoldMs);
  const cooldown = duration(s.cooldownMs);
  const remind = duration(s.remindMs);

  /** The last WINDOW_SIZE requests, `errors` of them with a failed attempt, `clientErrors` answered 5xx. */
  const window = (errors: number, clientErrors: number, top?: string): WindowStats => {
    const count = s.windowSize;
    const rate = (n: number) => (n / count) * 100;
    return {
      size: s.windowSize,
      count,
      errors,
      clientErrors,
      upstreamErrors: errors,
      errorRate: rate(errors),
      clientErrorRate: rate(clientErrors),
      upstreamErrorRate: rate(errors),
      ...(top === undefined ? {} : { topFailingUpstream: { addr: top, failures: errors } }),
    };
  };

  /** A condition as the detector shows it at `at`; open since `since` unless `active: false`. */
  const view = (kind: ConditionView['kind'], at: number, since: number, fields: Partial<ConditionView>): ConditionView => {
    const pool = kind === 'failover' || kind === 'degraded' ? { pool: 'blue' as const } : {};
    return {
      key: kind === 'failover' || kind === 'degraded' ? `${kind}:blue` : kind,
      kind,
      active: true,
      level: 'failing',
      since,
      at,
      ...pool,
      primaryPool: 'blue',
      servingPool: 'blue',
      releases: FRESH,
      failures: 0,
      holdMs: s.recoveryHoldMs,
      window: window(0, 0),
      thresholdPercent: s.thresholdPercent,
      ...fields,
    };
  };
  // The stories' shares are counted since the pool failed, as the detector's sinceOpen is.
  const sinceOpen = (fields: Partial<ConditionView>) => (fields.share === undefined ? {} : { sinceOpen: { ...fields.share } });
  const failover = (at: number, since: number, fields: Partial<ConditionView>) =>
    view('failover', at, since, { servingPool: 'green', flips: 1, recentFlips: 1, lastFailure: retried(), ...sinceOpen(fields), ...fields });
  const degraded = (at: number, since: number, fields: Partial<ConditionView>) =>
    view('degraded', at, since, { level: 'masked', holdMs: Math.max(s.recoveryHoldMs, DEGRADED_MIN_HOLD_MS), lastFailure: retried('/version', BLUE_3, BLUE_2), ...sinceOpen(fields), ...fields });
  const resolved = (v: ConditionView, at: number, fields: Partial<ConditionView> = {}): ConditionView => {
    const { steadyForMs: _steady, ...rest } = v;
    return { ...rest, active: false, level: 'ok', since: at, at, ...fields };
  };
  const at = (v: ConditionView, when: number, fields: Partial<ConditionView> = {}): ConditionView => ({ ...v, at: when, ...(v.sinceOpen === undefined ? {} : sinceOpen(fields)), ...fields });

  const release = (when: number, entry: Omit<HistoryEntry, 'time' | 'who'>): ReleaseNotification => ({
    kind: 'release',
    message: 'notice',
    at: when,
    entry: { time: new Date(when).toISOString(), who: WHO, ...entry },
  });
  const plannedSwitch = (when: number, from: 'blue' | 'green', fromRelease: string, toRelease: string): NoticeNotification => ({
    kind: 'planned_switch',
    message: 'notice',
    at: when,
    from,
    to: from === 'blue' ? 'green' : 'blue',
    fromRelease,
    toRelease,
  });

  return [
    failoverStory(),
    flappingStory(),
    degradedStory(),
    outageStory(),
    errorRateStory(),
    promotedStory(),
    blockedStory(),
    rolledBackStory(),
    rollbackStory(),
    maintenanceStory(),
    restartStory(),
    testAlertStory(),
  ];

  function failoverStory(): Story {
    const t0 = day(14, 2, 5);
    const opened = failover(t0, t0, { failures: 12, share: { failed: 12, attempts: 12 }, window: window(12, 0) });
    const back = t0 + 35 * SEC;
    const recovering = at(opened, back, { level: 'recovering', servingPool: 'blue', steadyForMs: 0, flips: 2, recentFlips: 2, failures: 31, share: { failed: 31, attempts: 52 }, window: window(31, 0) });
    const steady = back + s.recoveryHoldMs;
    const over = resolved(recovering, steady, { share: { failed: 31, attempts: 100 } });
    const end = t0 + s.cooldownMs;
    return {
      title: 'A failover and its all-clear',
      intro:
        'Blue fails (`make chaos`), Nginx retries every request on green, clients keep getting 200s. ' +
        `Blue is fixed half a minute later (\`make chaos-stop\`), and the all-clear waits for the cooldown (${cooldown}).`,
      steps: [
        {
          at: t0,
          what: 'Blue answers 500 to every request; Nginx retries each on green, so clients still get 200.',
          views: [opened],
          expect: [{ decision: 'send', message: 'opened', title: 'Failover opened', why: 'At once: the first message of an incident never waits.' }],
        },
        {
          at: back,
          what: `Blue answers again and Nginx sends it requests. Nothing is sent: a pool serving again is no news until it has held for ${hold} (\`RECOVERY_HOLD_SEC\`).`,
          views: [recovering],
          expect: [],
        },
        {
          at: steady,
          what: `Blue has served for ${hold} without a failed attempt: the failover is over.`,
          views: [over],
          expect: [
            {
              decision: 'defer',
              message: 'resolved',
              title: 'Failover resolved, held back by the cooldown',
              why: `The cooldown (\`ALERT_COOLDOWN_SEC\`, ${cooldown} after the incident's last message) holds the all-clear back. With a bot token the incident's message is edited to it at once: an edit notifies nobody.`,
            },
          ],
        },
        {
          at: end,
          what: 'The cooldown is over.',
          views: [at(over, end, { window: window(9, 0) })],
          expect: [{ decision: 'send', message: 'resolved', title: 'Failover resolved', why: `When the cooldown ends, ${cooldown} after the first message.` }],
        },
      ],
    };
  }

  function flappingStory(): Story {
    const t0 = day(8, 40);
    const opened = failover(t0, t0, { failures: 3, share: { failed: 3, attempts: 5 }, window: window(3, 0), lastFailure: retried('/api/orders') });
    const flap = t0 + 3 * MIN;
    const flapping = at(opened, flap, { level: 'flapping', flips: FLAP_FLIPS, recentFlips: FLAP_FLIPS, failures: 41, share: { failed: 9, attempts: 31 }, window: window(14, 0) });
    const update = t0 + s.cooldownMs;
    const still = at(flapping, update, { flips: FLAP_FLIPS + 3, recentFlips: FLAP_FLIPS + 3, failures: 66, window: window(17, 0) });
    const reminder = update + s.remindMs;
    const later = at(still, reminder, { flips: 64, recentFlips: FLAP_FLIPS + 2, failures: 912, window: window(15, 0) });
    const fixed = reminder + s.cooldownMs + MIN;
    const recovering = at(later, fixed, { level: 'recovering', servingPool: 'blue', steadyForMs: 0, flips: 65 });
    const steady = fixed + s.recoveryHoldMs;
    return {
      title: 'A failover that flaps, with a reminder',
      intro:
        'Blue fails one request in a few and keeps coming back, so the serving pool changes over and over (flapping). ' +
        `It lasts over an hour, long enough for a reminder (\`ALERT_REMIND_SEC\`, ${remind}).`,
      steps: [
        {
          at: t0,
          what: 'Blue starts failing some of its requests; Nginx retries them on green.',
          views: [opened],
          expect: [{ decision: 'send', message: 'opened', title: 'Intermittent failover opened', why: 'At once, as every first message.' }],
        },
        {
          at: flap,
          what: `Blue keeps failing and coming back: the serving pool has changed ${FLAP_FLIPS} times in 10 min.`,
          views: [flapping],
          expect: [
            {
              decision: 'defer',
              message: 'updated',
              title: 'Failover flapping, held back by the cooldown',
              why: 'Within the cooldown of the first message: held back. With a bot token the incident\'s message shows it at once.',
            },
          ],
        },
        {
          at: update,
          what: 'The cooldown is over and blue still flaps.',
          views: [still],
          expect: [
            {
              decision: 'send',
              message: 'updated',
              title: 'Failover flapping',
              why: `When the cooldown ends, ${cooldown} after the first message: the change it held back, and how many changes it held back.`,
            },
          ],
        },
        {
          at: reminder,
          what: `Blue flaps on; nothing has changed for ${remind}.`,
          views: [later],
          expect: [{ decision: 'send', message: 'reminder', title: 'Failover reminder', why: `${remind} after the incident's last message, while it is still open.` }],
        },
        {
          at: fixed,
          what: `The fix is deployed and blue answers again: no news until it has held for ${hold}.`,
          views: [recovering],
          expect: [],
        },
        {
          at: steady,
          what: `Blue has served for ${hold} without a failed attempt.`,
          views: [resolved(recovering, steady)],
          expect: [{ decision: 'send', message: 'resolved', title: 'Flapping failover resolved', why: 'At once: the cooldown since the reminder has passed.' }],
        },
      ],
    };
  }

  function degradedStory(): Story {
    const t0 = day(13, 10);
    const opened = degraded(t0, t0, { replicas: [{ addr: BLUE_2, failures: 4 }], failures: 4, share: { failed: 4, attempts: 100 }, window: window(4, 0) });
    const fixed = t0 + 8 * MIN;
    const recovering = at(opened, fixed, { level: 'recovering', steadyForMs: 0, replicas: [{ addr: BLUE_2, failures: 57 }], failures: 57, share: { failed: 19, attempts: 100 }, window: window(19, 0) });
    const steady = fixed + Math.max(s.recoveryHoldMs, DEGRADED_MIN_HOLD_MS);
    return {
      title: 'A degraded pool',
      intro:
        'Blue runs three replicas (`BLUE_REPLICAS=3`) and one of them fails (`make chaos REPLICA=2`). ' +
        'Nginx retries its requests on another blue replica: no failover, and clients see nothing.',
      steps: [
        {
          at: t0,
          what: `Replica ${BLUE_2} answers 500; Nginx retries on ${BLUE_3}, another blue replica.`,
          views: [opened],
          expect: [{ decision: 'send', message: 'opened', title: 'Degraded pool opened', why: 'At once.' }],
        },
        {
          at: fixed,
          what: `The replica answers again (\`make chaos-stop\`): no news until it has held for ${duration(steady - fixed)}.`,
          views: [recovering],
          expect: [],
        },
        {
          at: steady,
          what: 'No blue replica has failed since.',
          views: [resolved(recovering, steady)],
          expect: [{ decision: 'send', message: 'resolved', title: 'Degraded pool resolved', why: 'At once: the cooldown has passed.' }],
        },
      ],
    };
  }

  function outageStory(): Story {
    const t0 = day(11, 40);
    const lastFailure: RequestSample = sample({ method: 'GET', path: '/version', status: 503, upstreamStatuses: [500, 500], upstreamAddrs: [BLUE, GREEN] });
    const opened = view('outage', t0, t0, { level: 'down', failures: 46, window: window(46, 46), lastFailure });
    const back = t0 + 6 * MIN;
    const recovering = at(opened, back, { level: 'recovering', steadyForMs: 0, failures: 3120, window: window(200, 200) });
    const steady = back + s.recoveryHoldMs;
    return {
      title: 'An outage',
      intro: 'Both pools fail at once (`make chaos` on each): Nginx has nothing to retry on, and clients get its 503.',
      steps: [
        {
          at: t0,
          what: 'Blue and green both answer 500: every request ends in Nginx\'s 503.',
          views: [opened],
          expect: [{ decision: 'send', message: 'opened', title: 'Outage opened', why: 'At once.' }],
        },
        {
          at: back,
          what: `The pools answer again: no news until it has held for ${hold}.`,
          views: [recovering],
          expect: [],
        },
        {
          at: steady,
          what: `Requests have succeeded for ${hold}.`,
          views: [resolved(recovering, steady, { window: window(160, 160) })],
          expect: [{ decision: 'send', message: 'resolved', title: 'Outage resolved', why: 'At once: the cooldown has passed.' }],
        },
      ],
    };
  }

  function errorRateStory(): Story {
    const t0 = day(10, 5);
    const threshold = `${s.thresholdPercent}%`;
    const base = { level: 'masked' as const, lastFailure: retried('/api/orders'), holdMs: s.recoveryHoldMs };
    const masked = view('error_rate', t0, t0, { ...base, failures: 7, window: window(7, 0, BLUE) });
    const post: RequestSample = sample({ method: 'POST', path: '/api/orders', status: 500, upstreamStatuses: [500], upstreamAddrs: [BLUE] });
    const visible = at(masked, t0 + 2 * MIN, { level: 'client_visible', failures: 12, window: window(12, 5, BLUE), lastFailure: post });
    const worse = t0 + s.cooldownMs;
    const better = worse + s.cooldownMs + 2 * MIN;
    const over = better + 8 * MIN;
    return {
      title: 'A high error rate',
      intro:
        `More than ${threshold} (\`ERROR_RATE_THRESHOLD\`) of the last ${s.windowSize} requests (\`WINDOW_SIZE\`) failed. ` +
        'While Nginx\'s retries hide the errors from clients, a failover or a degraded pool is open too and says what to do; shown alone here.',
      steps: [
        {
          at: t0,
          what: 'Some of blue\'s answers are 500s; Nginx retries them on green, clients see none.',
          views: [masked],
          expect: [{ decision: 'send', message: 'opened', title: 'Error rate opened', why: 'At once.' }],
        },
        {
          at: visible.at,
          what: 'POST requests fail too: Nginx does not retry them, so clients see the errors.',
          views: [visible],
          expect: [
            {
              decision: 'defer',
              message: 'updated',
              title: 'Error rate worse, held back by the cooldown',
              why: 'Within the cooldown: held back; with a bot token the incident\'s message shows it at once.',
            },
          ],
        },
        {
          at: worse,
          what: 'The cooldown is over; clients still see errors.',
          views: [at(visible, worse, { failures: 19, window: window(14, 7, BLUE) })],
          expect: [{ decision: 'send', message: 'updated', title: 'Error rate worse: clients see errors', why: 'When the cooldown ends.' }],
        },
        {
          at: better,
          what: 'The failing POSTs stop; the other errors are still retried and hidden from clients.',
          views: [at(masked, better, { failures: 31, window: window(9, 0, BLUE) })],
          expect: [{ decision: 'send', message: 'updated', title: 'Error rate better: masked by retries', why: 'At once: the cooldown has passed.' }],
        },
        {
          at: over,
          what: `The rate falls under ${threshold}.`,
          views: [resolved(masked, over, { failures: 34, window: window(3, 0, BLUE) })],
          expect: [{ decision: 'send', message: 'resolved', title: 'Error rate resolved', why: 'At once: the cooldown has passed.' }],
        },
      ],
    };
  }

  function promotedStory(): Story {
    const t0 = day(15, 0);
    const base = { action: 'release', pool: 'green', fromPool: 'blue', release: 'v2', fromRelease: FRESH.blue } as const;
    return {
      title: 'A release, promoted',
      intro: '`make release RELEASE=v2` ships v2 to the idle pool, green, gates it and promotes it: each step is news, not a page.',
      steps: [
        {
          at: t0,
          what: 'The release starts: green gets v2, blue keeps serving.',
          notice: release(t0, { ...base, outcome: 'started', reason: 'image bluegreen-node:v2' }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v2 started', why: 'At once, as each step of a release.' }],
        },
        {
          at: t0 + 41 * SEC,
          what: 'Green is healthy and passed the pre-promotion analysis: traffic moves to it.',
          notice: plannedSwitch(t0 + 41 * SEC, 'blue', FRESH.blue, 'v2'),
          expect: [{ decision: 'send', message: 'notice', title: 'Planned switch: the promotion', why: 'At once, when Nginx starts serving the other pool: the watcher sees the switch it was told of, so it is no failover.' }],
        },
        {
          at: t0 + 58 * SEC,
          what: 'The post-promotion analysis passes.',
          notice: release(t0 + 58 * SEC, { ...base, outcome: 'promoted', durationMs: 58 * SEC }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v2 promoted', why: 'At once.' }],
        },
      ],
    };
  }

  function blockedStory(): Story {
    const t0 = day(15, 30);
    const base = { action: 'release', pool: 'blue', fromPool: 'green', release: 'v3', fromRelease: 'v2' } as const;
    return {
      title: 'A release, blocked',
      intro: '`make release RELEASE=v3` goes to blue, idle since v2 was promoted; its pre-promotion analysis fails, so no client ever reaches it.',
      steps: [
        {
          at: t0,
          what: 'The release starts.',
          notice: release(t0, { ...base, outcome: 'started', reason: 'image bluegreen-node:v3' }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v3 started', why: 'At once.' }],
        },
        {
          at: t0 + 34 * SEC,
          what: 'Blue answers too slowly on its direct port: the release stops, and blue gets its previous build back.',
          notice: release(t0 + 34 * SEC, { ...base, outcome: 'blocked', reason: 'pre-promotion analysis: p99 latency 912 ms is above ANALYSIS_P99_MS=300', durationMs: 34 * SEC }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v3 blocked', why: 'At once.' }],
        },
      ],
    };
  }

  function rolledBackStory(): Story {
    const t0 = day(16, 0);
    const base = { action: 'release', pool: 'blue', fromPool: 'green', release: 'v4', fromRelease: 'v2' } as const;
    const releases = { blue: 'v4', green: 'v2' };
    const failing = t0 + 44 * SEC;
    const opened = failover(failing, failing, { releases, failures: 6, share: { failed: 6, attempts: 6 }, window: window(6, 0), lastFailure: retried('/version', GREEN, BLUE) });
    const back = t0 + 45 * SEC;
    const closed = resolved(opened, back, { primaryPool: 'green', servingPool: 'green', failures: 9, window: window(9, 0) });
    const end = failing + s.cooldownMs;
    return {
      title: 'A release rolled back by itself',
      intro:
        '`make release RELEASE=v4` passes its pre-promotion analysis, but blue fails once it serves: the watcher opens a failover, ' +
        'and the post-promotion analysis switches traffic back to green at once.',
      steps: [
        {
          at: t0,
          what: 'The release starts.',
          notice: release(t0, { ...base, outcome: 'started', reason: 'image bluegreen-node:v4' }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v4 started', why: 'At once.' }],
        },
        {
          at: t0 + 40 * SEC,
          what: 'The promotion: traffic moves to blue.',
          notice: plannedSwitch(t0 + 40 * SEC, 'green', 'v2', 'v4'),
          expect: [{ decision: 'send', message: 'notice', title: 'Planned switch to v4', why: 'At once.' }],
        },
        {
          at: failing,
          what: 'Blue, now serving v4, answers 500; Nginx retries on green.',
          views: [opened],
          expect: [{ decision: 'send', message: 'opened', title: 'Failover of the new release', why: 'At once: a failover after a promotion is a real failure of the new release.' }],
        },
        {
          at: back,
          what: 'The post-promotion analysis sees the failover and switches traffic back to green.',
          notice: plannedSwitch(back, 'blue', 'v4', 'v2'),
          expect: [{ decision: 'send', message: 'notice', title: 'Planned switch back to v2', why: 'At once.' }],
        },
        {
          at: back,
          what: 'Blue is no longer the primary, so its failover ends at once, without a hold.',
          views: [closed],
          expect: [
            {
              decision: 'defer',
              message: 'resolved',
              title: 'Failover closed by the switch, held back by the cooldown',
              why: 'Within the cooldown of the failover\'s first message: held back; with a bot token the incident\'s message shows it at once.',
            },
          ],
        },
        {
          at: t0 + 47 * SEC,
          what: 'The release ends, and blue gets its previous build back.',
          notice: release(t0 + 47 * SEC, { ...base, outcome: 'rolled_back', reason: 'the watcher opened a failover away from blue', durationMs: 47 * SEC }),
          expect: [{ decision: 'send', message: 'notice', title: 'Release v4 rolled back', why: 'At once.' }],
        },
        {
          at: end,
          what: 'The cooldown is over.',
          views: [at(closed, end)],
          expect: [{ decision: 'send', message: 'resolved', title: 'Failover closed by the switch', why: 'When the cooldown ends.' }],
        },
      ],
    };
  }

  function rollbackStory(): Story {
    const t0 = day(17, 5);
    return {
      title: '`make rollback`',
      intro: `Later, the operator goes back from v2 on green to the release blue still has, ${FRESH.blue}: one switch, no analysis.`,
      steps: [
        {
          at: t0,
          what: 'Traffic moves to blue.',
          notice: plannedSwitch(t0, 'green', 'v2', FRESH.blue),
          expect: [{ decision: 'send', message: 'notice', title: 'Planned switch: the rollback', why: 'At once.' }],
        },
        {
          at: t0 + 2 * SEC,
          what: 'The rollback is recorded.',
          notice: release(t0 + 2 * SEC, { action: 'rollback', outcome: 'ok', pool: 'blue', fromPool: 'green', release: FRESH.blue, fromRelease: 'v2', reason: 'manual rollback', durationMs: 1900 }),
          expect: [{ decision: 'send', message: 'notice', title: 'Rolled back', why: 'At once.' }],
        },
      ],
    };
  }

  function maintenanceStory(): Story {
    const t0 = day(12, 0);
    const replica = degraded(t0, t0, { replicas: [{ addr: BLUE_2, failures: 5 }], failures: 5, share: { failed: 5, attempts: 100 }, window: window(5, 0) });
    const fixed = t0 + 12 * MIN;
    const replicaFixed = resolved(at(replica, fixed), fixed);
    const fails = t0 + 20 * MIN;
    const down = failover(fails, fails, { failures: 14, share: { failed: 14, attempts: 14 }, window: window(14, 0) });
    const spike = t0 + 25 * MIN;
    const errors = view('error_rate', spike, spike, { level: 'client_visible', failures: 9, window: window(9, 9, BLUE), lastFailure: sample({ method: 'POST', path: '/api/orders', status: 500, upstreamStatuses: [500], upstreamAddrs: [BLUE] }) });
    const calm = spike + 2 * MIN;
    const off = t0 + 40 * MIN;
    return {
      title: 'Maintenance',
      intro: '`make maintenance-on` holds every message back while people work on the stack; `make maintenance-off` sends one summary of what is open.',
      steps: [
        {
          at: t0,
          what: `Before the work: blue's replica ${BLUE_2} fails.`,
          views: [replica],
          expect: [{ decision: 'send', message: 'opened', title: 'Degraded pool opened, before maintenance', why: 'At once.' }],
        },
        {
          at: t0 + 5 * MIN,
          what: '`make maintenance-on`. Nothing is sent, from now on until it ends.',
          maintenance: true,
          views: [at(replica, t0 + 5 * MIN)],
          expect: [],
        },
        {
          at: fixed,
          what: 'The replica is fixed: the degraded pool resolves. Held back: maintenance.',
          views: [replicaFixed],
          expect: [{ decision: 'suppress', message: 'resolved' }],
        },
        {
          at: fails,
          what: 'Work on blue makes it fail: a failover opens. Held back.',
          views: [at(replicaFixed, fails), down],
          expect: [{ decision: 'suppress', message: 'opened' }],
        },
        {
          at: spike,
          what: 'An error rate opens…',
          views: [at(replicaFixed, spike), at(down, spike), errors],
          expect: [{ decision: 'suppress', message: 'opened' }],
        },
        {
          at: calm,
          what: '…and resolves two minutes later, never announced.',
          views: [at(replicaFixed, calm), at(down, calm), resolved(errors, calm)],
          expect: [],
        },
        {
          at: off,
          what: '`make maintenance-off`, with blue still failing.',
          maintenance: false,
          views: [at(replicaFixed, off), at(down, off), resolved(errors, calm, { at: off })],
          expect: [{ decision: 'send', message: 'notice', title: 'Maintenance ended', why: 'At once, when maintenance ends: what is open, what resolved meanwhile, and how many came and went unannounced.' }],
        },
      ],
    };
  }

  function restartStory(): Story {
    const t0 = day(3, 15, 12);
    const from = t0 - 2 * MIN - 10 * SEC;
    const to = t0 - MIN - 5 * SEC;
    const past = resolved(failover(to, from, { failures: 27, share: { failed: 27, attempts: 100 }, window: window(27, 0) }), to, { servingPool: 'blue' });
    return {
      title: 'After an unclean restart of the watcher',
      intro:
        'The watcher is killed (`kill -9`, a crash, the host lost) and starts again. It reads the log written meanwhile from its saved position, ' +
        'and finds a failover that opened and resolved while nobody watched.',
      steps: [
        {
          at: t0,
          what: 'The watcher starts and finds its run marker: the last run did not stop cleanly.',
          notice: { kind: 'watcher_restarted', message: 'notice', at: t0, downSince: t0 - 2 * MIN - 37 * SEC },
          expect: [{ decision: 'send', message: 'notice', title: 'Watcher restarted', why: 'At start, after an unclean stop: how long nothing was watched.' }],
        },
        {
          at: t0 + 2 * SEC,
          what: 'The log written meanwhile holds a failover of blue that is already over.',
          notice: { kind: 'past_incident', message: 'notice', at: t0 + 2 * SEC, condition: past, openedAt: from, resolvedAt: to },
          expect: [{ decision: 'send', message: 'notice', title: 'Past incident, told after the fact', why: 'Once the backlog is read: news, never a page.' }],
        },
      ],
    };
  }

  function testAlertStory(): Story {
    const t0 = day(9, 30);
    return {
      title: '`make test-alert`',
      intro: 'Checks the path to Slack: one message, marked as a test in its first words so nobody acts on it, recorded in `make history`.',
      steps: [
        {
          at: t0,
          what: 'The operator runs `make test-alert`.',
          testAlert: { who: WHO },
          expect: [{ decision: 'send', message: 'notice', title: 'Test alert', why: 'When asked. With a bot token it also replies in its own thread and edits itself: what every incident\'s message needs.' }],
        },
      ],
    };
  }
}
