import { describe, expect, it } from 'vitest';
import { delta, judgePostCheck, judgePre, judgePreSample, SWITCH_GRACE_MS, type PostCheckInput } from '../../ops/release/analysis.js';
import type { Sample, WatcherStats } from '../../ops/stack/index.js';

const gate = { pool: 'green', release: 'r2' } as const;
const answer = (over: Partial<Sample> = {}): Sample => ({ startedAt: 0, latencyMs: 5, status: 200, pool: 'green', release: 'r2', ...over });

function stats(green: { attempts: number; failed: number }, incidents: WatcherStats['incidents'] = []): WatcherStats {
  return {
    primaryPool: 'green',
    servingPool: 'green',
    pools: { green: { attempts: 0, failed: 0, total: green }, blue: { attempts: 0, failed: 0, total: { attempts: 50, failed: 50 } } },
    maintenance: false,
    recentAlerts: [],
    incidents,
    alerts: { send: 0, defer: 0, suppress: 0, delivered: 0, failed: 0, dropped: 0, dry_run: 0, queued: 0 },
    lines: { read: 0, malformed: 0, droppedTooLong: 0 },
    source: { rotations: 0, truncations: 0 },
  };
}

type StatsIncident = WatcherStats['incidents'][number];
const incident = (key: string, openedAt: number, extra: Partial<StatsIncident> = {}): StatsIncident => ({
  id: `${key}@${openedAt}`,
  key,
  kind: key.split(':')[0] as StatsIncident['kind'],
  openedAt,
  deferred: 0,
  ...extra,
});

describe('pre-promotion analysis', () => {
  it('passes steady 2xx answers from the new release under the p99 bound', () => {
    expect(judgePre(Array.from({ length: 100 }, () => answer()), gate, 300)).toEqual({ ok: true });
  });

  it('fails on the first answer that is not a 2xx from the new release on the idle pool', () => {
    expect(judgePreSample(answer({ status: 500 }), gate)).toBe('green answered 500');
    expect(judgePreSample(answer({ status: 0, error: 'ECONNREFUSED' }), gate)).toBe('no answer from green (ECONNREFUSED)');
    expect(judgePreSample(answer({ release: 'r1' }), gate)).toMatch(/answered as release "r1", expected "r2"/);
    expect(judgePreSample(answer({ pool: 'blue' }), gate)).toMatch(/X-App-Pool "blue"/);
    expect(judgePre([answer(), answer({ status: 503 })], gate, 300)).toEqual({ ok: false, reason: 'green answered 503' });
  });

  it('fails when p99 is above the bound, even with every answer good', () => {
    const samples = [...Array.from({ length: 98 }, () => answer()), answer({ latencyMs: 900 }), answer({ latencyMs: 950 })];
    expect(judgePre(samples, gate, 300)).toEqual({ ok: false, reason: 'p99 latency 900 ms is above ANALYSIS_P99_MS=300' });
  });

  it('fails when nothing was measured', () => {
    expect(judgePre([], gate, 300).ok).toBe(false);
  });
});

describe('post-promotion check', () => {
  const promotedAt = 10_000;
  const input = (over: Partial<PostCheckInput>): PostCheckInput => ({
    gate,
    promotedAt,
    base: stats({ attempts: 100, failed: 3 }),
    current: stats({ attempts: 200, failed: 3 }),
    samples: [answer({ startedAt: promotedAt + 5000 })],
    maxFailedPct: 1,
    ...over,
  });

  it('passes when the new pool fails nothing new, whatever it failed before the release', () => {
    expect(judgePostCheck(input({}))).toEqual({ ok: true });
  });

  it('fails when the new pool fails more than ANALYSIS_MAX_FAILED_PCT of its attempts since promotion', () => {
    const v = judgePostCheck(input({ current: stats({ attempts: 200, failed: 5 }) }));
    expect(v).toEqual({ ok: false, reason: '2 of 100 attempts on green failed (2.0%, ANALYSIS_MAX_FAILED_PCT=1)' });
    expect(judgePostCheck(input({ current: stats({ attempts: 200, failed: 4 }) })).ok).toBe(true);
  });

  it('fails when the watcher opens a failover away from the new pool or an outage after promotion, not for an older one', () => {
    const failover = incident('failover:green', promotedAt + 1, { reported: { active: true, level: 'failing' } });
    expect(judgePostCheck(input({ current: stats({ attempts: 100, failed: 3 }, [failover]) }))).toMatchObject({ ok: false, reason: 'the watcher opened a failover away from green' });
    expect(judgePostCheck(input({ current: stats({ attempts: 100, failed: 3 }, [incident('outage', promotedAt + 1)]) })).ok).toBe(false);
    expect(judgePostCheck(input({ current: stats({ attempts: 100, failed: 3 }, [{ ...failover, openedAt: promotedAt - 1 }]) })).ok).toBe(true);
    expect(judgePostCheck(input({ current: stats({ attempts: 100, failed: 3 }, [incident('failover:blue', promotedAt + 1)]) })).ok).toBe(true);
    expect(judgePostCheck(input({ current: stats({ attempts: 100, failed: 3 }, [{ ...failover, reported: { active: false, level: 'ok' } }]) })).ok).toBe(true);
  });

  it('fails on a client request that failed, or one answered by another release once the switch has settled', () => {
    expect(judgePostCheck(input({ samples: [answer({ startedAt: promotedAt + 100, status: 502 })] }))).toMatchObject({ ok: false });
    const old = answer({ release: 'r1', pool: 'blue' });
    expect(judgePostCheck(input({ samples: [{ ...old, startedAt: promotedAt + SWITCH_GRACE_MS - 1 }] })).ok).toBe(true);
    expect(judgePostCheck(input({ samples: [{ ...old, startedAt: promotedAt + SWITCH_GRACE_MS }] }))).toMatchObject({ ok: false, reason: 'a client request was answered by release "r1" on blue, not by r2' });
  });

  it('counts from zero when the watcher restarted during the analysis', () => {
    expect(delta(stats({ attempts: 500, failed: 1 }), stats({ attempts: 20, failed: 2 }), 'green')).toEqual({ attempts: 20, failed: 2 });
  });
});
