// Record builders shared by the core tests.
import type { ConditionView } from '../../../watcher/detect/index.js';
import type { HistoryEntry } from '../../../watcher/history.js';
import type { AccessRecord } from '../../../watcher/types.js';

export { rng } from '../../../testkit/rng.js';

export function record(fields: Partial<AccessRecord> = {}): AccessRecord {
  const times = fields.upstreamResponseMs ?? [4];
  return {
    upstreamMs: times[times.length - 1],
    time: '2026-11-22T00:06:32.123+00:00',
    requestId: 'rid',
    method: 'GET',
    path: '/version',
    status: 200,
    pool: 'blue',
    release: 'blue-v1',
    upstreamStatuses: [200],
    upstreamAddrs: ['172.18.0.3:3000'],
    requestMs: 4,
    upstreamResponseMs: [4],
    ...fields,
  };
}

export const ok = (pool = 'blue'): AccessRecord => record({ pool, release: `${pool}-v1` });

/** A 5xx on blue retried on green: the client sees 200. */
export const retried = (): AccessRecord =>
  record({
    pool: 'green',
    release: 'green-v1',
    upstreamStatuses: [500, 200],
    upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'],
  });

/** Nginx's own 502: no upstream served it. */
export const noUpstream = (): AccessRecord =>
  record({ status: 502, pool: undefined, release: undefined, upstreamStatuses: [502], upstreamAddrs: ['app_pools'] });


/** An audit-trail entry: a release of r2 to green while blue served r1. */
export const historyEntry = (fields: Partial<HistoryEntry> = {}): HistoryEntry => ({
  time: '2026-11-22T00:06:32.123Z',
  action: 'release',
  outcome: 'started',
  pool: 'green',
  fromPool: 'blue',
  release: 'r2',
  fromRelease: 'r1',
  who: 'alice@host1',
  ...fields,
});

/** Blue's failover, opened at `since` and failing, as the detector shows it at `at`. */
export const failoverView = (since: number, at: number, fields: Partial<ConditionView> = {}): ConditionView => ({
  key: 'failover:blue',
  kind: 'failover',
  active: true,
  level: 'failing',
  since,
  at,
  pool: 'blue',
  primaryPool: 'blue',
  servingPool: 'green',
  releases: { blue: 'blue-v1', green: 'green-v1' },
  failures: 5,
  flips: 1,
  recentFlips: 1,
  holdMs: 30_000,
  share: { failed: 5, attempts: 20 },
  window: { size: 200, count: 200, errors: 5, clientErrors: 0, upstreamErrors: 5, errorRate: 2.5, clientErrorRate: 0, upstreamErrorRate: 2.5 },
  thresholdPercent: 2,
  ...fields,
});
