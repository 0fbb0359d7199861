import { describe, expect, it } from 'vitest';
import {
  alertMet,
  alertReport,
  coolingDown,
  describeAlert,
  firstAnswerFrom,
  judgeDrill,
  judgePhase,
  loadFigures,
  shareFrom,
  type PhaseRecord,
} from '../../bench/drill/judge.js';
import type { Sample } from '../../bench/lib/load.js';
import type { RecentAlert } from '../../bench/lib/stack.js';

const T0 = Date.UTC(2026, 10, 22, 1, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** `n` requests 50 ms apart from `start`, each answered by `pool` in `latencyMs`. */
function steady(n: number, pool: string, start = T0, latencyMs = 2, status = 200): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ startedAt: start + i * 50, latencyMs, status, pool }));
}

function alert(kind: string, raisedMs: number, extra: Partial<RecentAlert> = {}): RecentAlert {
  return { kind, text: kind, raisedAt: iso(T0 + raisedMs), decision: 'send', outcome: 'sent', settledAt: iso(T0 + raisedMs + 100), ...extra };
}

const verdict = (phase: PhaseRecord, metric: string) => {
  const found = judgePhase(phase).verdicts.find((v) => v.metric.includes(metric));
  if (found === undefined) throw new Error(`no verdict matching ${metric}`);
  return found;
};

describe('load figures', () => {
  it('counts non-200s by status, transport errors as "no answer", and answers per pool', () => {
    const samples: Sample[] = [
      ...steady(3, 'blue'),
      { startedAt: T0, latencyMs: 9, status: 502, pool: undefined },
      { startedAt: T0, latencyMs: 10_000, status: 0, pool: undefined, error: 'UND_ERR_HEADERS_TIMEOUT' },
    ];
    const f = loadFigures(samples);
    expect(f).toMatchObject({ requests: 5, non200: 2, byPool: { blue: 3 }, maxMs: 10_000 });
    expect(f.failures).toEqual({ '502': 1, 'no answer (UND_ERR_HEADERS_TIMEOUT)': 1 });
  });

  it('shares count only 200s from the pool, over every sample', () => {
    const samples = [...steady(3, 'green'), ...steady(1, 'green', T0, 2, 500)];
    expect(shareFrom(samples, 'green')).toBe(0.75);
    expect(shareFrom([], 'green')).toBeNaN();
  });

  it('finds the first 200 from a pool by when it finished, not when it was sent', () => {
    const samples: Sample[] = [
      { startedAt: T0, latencyMs: 1500, status: 200, pool: 'green' }, // finishes at +1500
      { startedAt: T0 + 100, latencyMs: 5, status: 200, pool: 'green' }, // finishes at +105
      { startedAt: T0 + 50, latencyMs: 1, status: 500, pool: 'green' },
    ];
    expect(firstAnswerFrom(samples, 'green', T0)).toBe(T0 + 105);
    expect(firstAnswerFrom(samples, 'green', T0 + 200)).toBe(T0 + 1500);
    expect(firstAnswerFrom(samples, 'blue', T0)).toBeUndefined();
  });
});

describe('alert bar', () => {
  it('needs a sent alert delivered within 5 s', () => {
    expect(alertMet(alertReport([alert('failover', 800)], 'failover', T0))).toBe(true);
    expect(alertMet(alertReport([alert('failover', 5_200)], 'failover', T0))).toBe(false);
    expect(alertMet(alertReport([alert('failover', 800, { outcome: 'failed' })], 'failover', T0))).toBe(false);
    expect(alertMet(alertReport([alert('failover', 800, { outcome: undefined, settledAt: undefined })], 'failover', T0))).toBe(false);
    expect(alertMet(undefined)).toBe(false);
  });

  it('judges a held-back or suppressed alert by when it was raised, and says so', () => {
    const held = alertReport([alert('failover', 1_700, { decision: 'hold', outcome: undefined, settledAt: undefined })], 'failover', T0);
    expect(alertMet(held)).toBe(true);
    expect(describeAlert('failover', held)).toBe('failover raised 1.70 s, held back by the cooldown');
    const late = alertReport([alert('failover', 6_000, { decision: 'suppress', outcome: undefined })], 'failover', T0);
    expect(alertMet(late)).toBe(false);
    expect(describeAlert('failover', late)).toContain('suppressed by maintenance');
  });

  it('picks the first alert of the kind asked for', () => {
    const report = alertReport([alert('error_rate', 100), alert('failover', 900), alert('failover', 2_000)], 'failover', T0);
    expect(report).toMatchObject({ kind: 'failover', raisedMs: 900, settledMs: 1_000 });
    expect(describeAlert('failover', report)).toBe('failover sent 1.00 s');
    expect(describeAlert('recovery', undefined)).toBe('no recovery alert');
  });
});

describe('cooldown warning', () => {
  it('names the kinds whose last delivered alert is younger than the cooldown', () => {
    const alerts = [
      alert('failover', 0),
      alert('recovery', 1_000, { decision: 'hold', outcome: undefined, settledAt: undefined }),
      alert('error_rate', 2_000),
    ];
    // The failover was delivered at +100 ms; 60 s later a 300 s cooldown still holds failovers.
    expect(coolingDown(alerts, 300_000, T0 + 60_100)).toEqual([{ kind: 'failover', agoMs: 60_000 }]);
    expect(coolingDown(alerts, 30_000, T0 + 60_100)).toEqual([]);
  });
});

describe('phases', () => {
  const base = { active: 'blue' as const, alerts: [] };

  it('baseline: every answer a 200 from the active pool', () => {
    const good: PhaseRecord = { ...base, kind: 'baseline', name: 'baseline', samples: steady(20, 'blue') };
    expect(judgePhase(good).verdicts.every((v) => v.met)).toBe(true);
    const wrongPool: PhaseRecord = { ...good, samples: [...steady(19, 'blue'), ...steady(1, 'green')] };
    expect(verdict(wrongPool, 'served by blue')).toMatchObject({ value: '95.0%', met: false });
  });

  it('chaos: share and first answer counted from the acknowledgement of chaos', () => {
    const eventAt = T0 + 1_000;
    const phase: PhaseRecord = {
      ...base,
      kind: 'chaos',
      mode: 'timeout',
      name: 'timeout',
      eventAt,
      // Before chaos blue served; the first requests after it hung 1.5 s, then green answered.
      samples: [...steady(20, 'blue'), ...steady(30, 'green', eventAt, 1_500), ...steady(40, 'green', eventAt + 1_500)],
      alerts: [alert('failover', 2_800, { decision: 'hold', outcome: undefined, settledAt: undefined })],
    };
    expect(verdict(phase, 'served by green')).toMatchObject({ value: '100.0%', met: true });
    expect(verdict(phase, 'first green answer')).toMatchObject({ value: '1.50 s', met: false });
    expect(verdict(phase, 'failover alert')).toMatchObject({ value: 'failover raised 1.80 s, held back by the cooldown', met: true });
    expect(verdict(phase, 'non-200')).toMatchObject({ value: 0, met: true });
  });

  it('chaos: under 95% from the other pool or any non-200 misses', () => {
    const eventAt = T0;
    const phase: PhaseRecord = {
      ...base,
      kind: 'chaos',
      mode: 'error',
      name: 'error',
      eventAt,
      samples: [...steady(18, 'green'), ...steady(1, 'blue'), ...steady(1, 'blue', T0, 2, 500)],
      alerts: [alert('failover', 300)],
    };
    expect(verdict(phase, 'served by green')).toMatchObject({ value: '90.0%', met: false });
    expect(verdict(phase, 'non-200')).toMatchObject({ value: 1, met: false });
    expect(verdict(phase, 'first green answer')).toMatchObject({ value: '2 ms', met: true });
  });

  it('recovery: back within fail_timeout plus slack, recovery alert timed from the first answer', () => {
    const eventAt = T0;
    const phase: PhaseRecord = {
      ...base,
      kind: 'recovery',
      name: 'error stop',
      eventAt,
      samples: [...steady(100, 'green'), ...steady(20, 'blue', T0 + 5_000)],
      alerts: [alert('recovery', 5_400)],
    };
    expect(verdict(phase, 'blue serves again')).toMatchObject({ value: '5.00 s', met: true });
    // Raised 0.4 s after blue's first answer at +5.002 s, delivered 0.1 s later.
    expect(verdict(phase, 'recovery alert')).toMatchObject({ value: 'recovery sent 498 ms', met: true });
    const never: PhaseRecord = { ...phase, samples: steady(100, 'green'), alerts: [] };
    expect(verdict(never, 'blue serves again')).toMatchObject({ value: '–', met: false });
    expect(verdict(never, 'recovery alert').met).toBe(false);
  });

  it('switch: both switches succeed, no failover page, the active pool serves at the end', () => {
    const phase: PhaseRecord = {
      ...base,
      kind: 'switch',
      name: 'switch',
      samples: [...steady(20, 'blue'), ...steady(20, 'green', T0 + 1_000), ...steady(20, 'blue', T0 + 2_000)],
      switches: [
        { to: 'green', code: 0, ms: 600 },
        { to: 'blue', code: 0, ms: 700 },
      ],
      alerts: [alert('planned_switch', 1_000), alert('planned_switch', 2_000)],
    };
    expect(judgePhase(phase).verdicts.every((v) => v.met)).toBe(true);
    expect(judgePhase(phase).row.alert).toBe('2 planned, 0 failover/recovery');
    const paged: PhaseRecord = { ...phase, alerts: [alert('failover', 1_000, { decision: 'hold' })] };
    expect(verdict(paged, 'failover/recovery alerts')).toMatchObject({ value: 1, met: false });
    const stuck: PhaseRecord = { ...phase, switches: [{ to: 'green', code: 0, ms: 600 }, { to: 'blue', code: 2, ms: 100 }] };
    expect(verdict(stuck, 'there and back')).toMatchObject({ value: '→green 600 ms, →blue exit 2', met: false });
  });

  it('the drill passes only when every verdict of every phase is met', () => {
    const good: PhaseRecord = { ...base, kind: 'baseline', name: 'baseline', samples: steady(20, 'blue') };
    const bad: PhaseRecord = { ...good, name: 'again', samples: steady(20, 'blue', T0, 2, 502) };
    expect(judgeDrill([good]).passed).toBe(true);
    expect(judgeDrill([good, bad]).passed).toBe(false);
    expect(judgeDrill([]).passed).toBe(false);
    expect(judgeDrill([good, bad]).rows.map((r) => r.phase)).toEqual(['baseline', 'again']);
  });
});
