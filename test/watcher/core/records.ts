// Record builders shared by the core tests.
import type { HistoryEntry } from '../../../watcher/state/history.js';
import type { AccessRecord } from '../../../watcher/types.js';

export { rng } from '../../support/rng.js';

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
