// Record builders shared by the core tests.
import type { AccessRecord } from '../../../watcher/types.js';

export function record(fields: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: '2026-11-22T00:06:32.123+00:00',
    requestId: 'rid',
    method: 'GET',
    path: '/version',
    status: 200,
    pool: 'blue',
    release: 'blue-v1',
    upstreamStatuses: [200],
    upstreamAddrs: ['172.18.0.3:3000'],
    requestTime: 0.004,
    upstreamResponseTimes: [0.004],
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

/** Deterministic PRNG (mulberry32), so a failing random test can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
