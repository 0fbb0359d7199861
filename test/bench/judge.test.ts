import { describe, expect, it } from 'vitest';
import { alertMet, alertReport, coolingDown, describeAlert, judgeDrill, judgePhase, recoveryAlertMs, repeatsInCooldown, type AlertSettings } from '../../bench/drill/judge.js';
import { type PhaseRecord } from '../../bench/drill/records.js';
import { firstAnswerFrom, loadFigures, shareFrom } from '../../bench/drill/figures.js';
import type { Sample } from '../../ops/stack/index.js';
import type { RecentAlert } from '../../ops/stack/index.js';
import type { ReleaseFigures } from '../../ops/release/release.js';

const T0 = Date.UTC(2026, 10, 22, 1, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
/** The stack's defaults: a 300 s cooldown and a 30 s hold. */
const SETTINGS: AlertSettings = { cooldownMs: 300_000, holdMs: 30_000 };

/** `n` requests 50 ms apart from `start`, each answered by `pool` in `latencyMs`. */
function steady(n: number, pool: string, start = T0, latencyMs = 2, status = 200): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ startedAt: start + i * 50, latencyMs, status, pool }));
}

function alert(kind: RecentAlert['kind'], message: RecentAlert['message'], raisedMs: number, extra: Partial<RecentAlert> = {}): RecentAlert {
  return {
    kind,
    message,
    text: `${kind} ${message}`,
    raisedAt: iso(T0 + raisedMs),
    decision: 'send',
    outcome: 'delivered',
    settledAt: iso(T0 + raisedMs + 100),
    ...extra,
  };
}
const deferred = { decision: 'defer', outcome: undefined, settledAt: undefined } as const;

const verdict = (phase: PhaseRecord, metric: string, settings = SETTINGS) => {
  const found = judgePhase(phase, settings).verdicts.find((v) => v.metric.includes(metric));
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
  const opening = (raisedMs: number, extra: Partial<RecentAlert> = {}) =>
    alertReport([alert('failover', 'opened', raisedMs, extra)], 'failover', 'opened', T0);

  it('needs a sent message delivered within 5 s', () => {
    expect(alertMet(opening(800))).toBe(true);
    expect(alertMet(opening(5_200))).toBe(false);
    expect(alertMet(opening(800, { outcome: 'failed' }))).toBe(false);
    expect(alertMet(opening(800, { outcome: undefined, settledAt: undefined }))).toBe(false);
    expect(alertMet(undefined)).toBe(false);
  });

  it('in dry-run, passes an alert logged in time, and says it was not posted', () => {
    const logged = opening(800, { outcome: 'dry_run' });
    expect(alertMet(logged)).toBe(true);
    expect(describeAlert('failover opened', logged)).toBe('failover opened: logged 900 ms (dry-run, not posted)');
    expect(alertMet(opening(6_000, { outcome: 'dry_run' }))).toBe(false);
  });

  it('judges a deferred or suppressed message by when it was decided, and says so', () => {
    const held = alertReport([alert('failover', 'resolved', 1_700, deferred)], 'failover', 'resolved', T0);
    expect(alertMet(held)).toBe(true);
    expect(describeAlert('failover resolved', held)).toBe('failover resolved: deferred 1.70 s, by the cooldown');
    const late = opening(6_000, { decision: 'suppress', outcome: undefined });
    expect(alertMet(late)).toBe(false);
    expect(describeAlert('failover opened', late)).toBe('failover opened: suppressed 6.00 s, by maintenance');
  });

  it('takes its bar as an argument: the all-clear gets the hold on top', () => {
    const allClear = alertReport([alert('failover', 'resolved', 31_000)], 'failover', 'resolved', T0);
    expect(recoveryAlertMs(SETTINGS)).toBe(35_000);
    expect(alertMet(allClear)).toBe(false);
    expect(alertMet(allClear, recoveryAlertMs(SETTINGS))).toBe(true);
  });

  it('picks the first message of the kind and message asked for', () => {
    const alerts = [alert('error_rate', 'opened', 100), alert('failover', 'resolved', 500), alert('failover', 'opened', 900), alert('failover', 'opened', 2_000)];
    const report = alertReport(alerts, 'failover', 'opened', T0);
    expect(report).toMatchObject({ kind: 'failover', message: 'opened', raisedMs: 900, settledMs: 1_000 });
    expect(describeAlert('failover opened', report)).toBe('failover opened: sent 1.00 s');
    expect(describeAlert('failover resolved', undefined)).toBe('no failover resolved');
  });
});

describe('cooldown', () => {
  it('names the incident kinds whose last message sent is younger than the cooldown', () => {
    const alerts = [alert('failover', 'opened', 0), alert('failover', 'resolved', 1_000, deferred), alert('planned_switch', 'notice', 1_500), alert('error_rate', 'opened', 2_000)];
    // The failover opened at +0: 60 s later a 300 s cooldown still defers its changes; so does the error rate's.
    expect(coolingDown(alerts, 300_000, T0 + 60_000)).toEqual([
      { kind: 'failover', agoMs: 60_000 },
      { kind: 'error_rate', agoMs: 58_000 },
    ]);
    expect(coolingDown(alerts, 30_000, T0 + 60_000)).toEqual([]);
  });

  it('finds a failover message sent inside the cooldown after the previous one; a new opening may follow at once', () => {
    const ok = [alert('failover', 'opened', 0), alert('failover', 'resolved', 40_000, deferred), alert('failover', 'resolved', 300_000), alert('failover', 'opened', 301_000)];
    expect(repeatsInCooldown(ok, 300_000)).toEqual([]);
    const repeat = alert('failover', 'updated', 120_000);
    expect(repeatsInCooldown([alert('failover', 'opened', 0), repeat], 300_000)).toEqual([repeat]);
    expect(repeatsInCooldown([alert('failover', 'opened', 0), repeat], 0)).toEqual([]);
  });
});

describe('phases', () => {
  const base = { active: 'blue' as const, alerts: [] };

  it('baseline: every answer a 200 from the active pool', () => {
    const good: PhaseRecord = { ...base, kind: 'baseline', name: 'baseline', samples: steady(20, 'blue') };
    expect(judgePhase(good, SETTINGS).verdicts.every((v) => v.met)).toBe(true);
    const wrongPool: PhaseRecord = { ...good, samples: [...steady(19, 'blue'), ...steady(1, 'green')] };
    expect(verdict(wrongPool, 'served by blue')).toMatchObject({ value: '95.0%', met: false });
  });

  describe('chaos', () => {
    const eventAt = T0 + 1_000;
    const chaos: PhaseRecord = {
      ...base,
      kind: 'chaos',
      mode: 'timeout',
      name: 'timeout',
      eventAt,
      slack: 'clear',
      // Before chaos blue served; the first requests after it hung 1.5 s, then green answered.
      samples: [...steady(20, 'blue'), ...steady(30, 'green', eventAt, 1_500), ...steady(40, 'green', eventAt + 1_500)],
      alerts: [alert('failover', 'opened', 1_800)],
    };

    it('share and first answer counted from the acknowledgement of chaos; one opening, timed from it', () => {
      expect(verdict(chaos, 'served by green')).toMatchObject({ value: '100.0%', met: true });
      expect(verdict(chaos, 'first green answer')).toMatchObject({ value: '1.50 s', met: false });
      expect(verdict(chaos, 'failover alert')).toMatchObject({ value: 'failover opened: sent 900 ms', met: true });
      expect(verdict(chaos, 'failover messages')).toMatchObject({ value: 1, target: '1', met: true });
      expect(verdict(chaos, 'non-200')).toMatchObject({ value: 0, met: true });
    });

    it('a new incident needs its opening: none, late, or twice misses', () => {
      expect(verdict({ ...chaos, alerts: [] }, 'failover alert')).toMatchObject({ value: 'no failover opened', met: false });
      expect(verdict({ ...chaos, alerts: [alert('failover', 'opened', 6_500)] }, 'failover alert').met).toBe(false);
      const twice: PhaseRecord = { ...chaos, alerts: [alert('failover', 'opened', 1_800), alert('failover', 'updated', 2_500)] };
      expect(verdict(twice, 'failover messages')).toMatchObject({ value: 2, met: false });
      // Maintenance: decided in time, and shown as suppressed.
      const suppressed: PhaseRecord = { ...chaos, alerts: [alert('failover', 'opened', 1_800, { decision: 'suppress', outcome: undefined, settledAt: undefined })] };
      expect(verdict(suppressed, 'failover alert')).toMatchObject({ value: 'failover opened: suppressed 800 ms, by maintenance', met: true });
    });

    it('while Slack still has the last failover open (all-clear deferred): no message is due, the withdrawal of the all-clear shows it was seen', () => {
      const quiet: PhaseRecord = { ...chaos, slack: 'deferred', alerts: [], withdrawnAt: eventAt + 700 };
      expect(verdict(quiet, 'failover alert')).toMatchObject({ met: true });
      expect(verdict(quiet, 'failover alert').value).toContain('withdrawn 700 ms');
      expect(verdict(quiet, 'failover messages')).toMatchObject({ value: 0, target: '0', met: true });
      // Never seen, or seen too late.
      expect(verdict({ ...quiet, withdrawnAt: undefined }, 'failover alert').met).toBe(false);
      expect(verdict({ ...quiet, withdrawnAt: eventAt + 5_500 }, 'failover alert').met).toBe(false);
      // An opening although Slack had it open would be a repeat.
      expect(verdict({ ...quiet, alerts: [alert('failover', 'opened', 1_800)] }, 'failover messages').met).toBe(false);
    });

    it('a deferred all-clear whose cooldown ran out as chaos began was sent: then the new failover is a new incident', () => {
      const phase: PhaseRecord = { ...chaos, slack: 'deferred', alerts: [alert('failover', 'resolved', 1_100), alert('failover', 'opened', 1_600)] };
      expect(verdict(phase, 'failover alert')).toMatchObject({ value: 'failover opened: sent 700 ms', met: true });
      expect(verdict(phase, 'failover messages')).toMatchObject({ value: 1, met: true });
    });

    it('chaos while the last failover never resolved is part of it: nothing to time, a miss', () => {
      expect(verdict({ ...chaos, slack: 'open', alerts: [] }, 'failover alert')).toMatchObject({ met: false });
    });

    it('under 95% from the other pool or any non-200 misses', () => {
      const phase: PhaseRecord = {
        ...chaos,
        mode: 'error',
        name: 'error',
        eventAt: T0,
        samples: [...steady(18, 'green'), ...steady(1, 'blue'), ...steady(1, 'blue', T0, 2, 500)],
        alerts: [alert('failover', 'opened', 300)],
      };
      expect(verdict(phase, 'served by green')).toMatchObject({ value: '90.0%', met: false });
      expect(verdict(phase, 'non-200')).toMatchObject({ value: 1, met: false });
      expect(verdict(phase, 'first green answer')).toMatchObject({ value: '2 ms', met: true });
    });
  });

  describe('recovery', () => {
    const recovery: PhaseRecord = {
      ...base,
      kind: 'recovery',
      name: 'error stop',
      eventAt: T0,
      samples: [...steady(100, 'green'), ...steady(700, 'blue', T0 + 5_000)],
      // Blue back at +5.002 s; steady for the 30 s hold; resolved at the next tick.
      alerts: [alert('failover', 'resolved', 35_400)],
    };

    it('back within fail_timeout plus slack; the all-clear within the hold plus 5 s of the first answer', () => {
      expect(verdict(recovery, 'blue serves again')).toMatchObject({ value: '5.00 s', met: true });
      // Decided 30.398 s after blue's first answer, delivered 0.1 s later.
      expect(verdict(recovery, 'recovery alert')).toMatchObject({ value: 'failover resolved: sent 30.50 s', target: 'sent ≤ 35 s (decided, if held)', met: true });
      expect(verdict(recovery, 'failover reopened')).toMatchObject({ value: 0, met: true });
      // The bar follows RECOVERY_HOLD_SEC.
      expect(verdict(recovery, 'recovery alert', { cooldownMs: 0, holdMs: 10_000 }).met).toBe(false);
    });

    it('a deferred all-clear is judged by when it was decided', () => {
      const held: PhaseRecord = { ...recovery, alerts: [alert('failover', 'resolved', 35_400, deferred)] };
      expect(verdict(held, 'recovery alert')).toMatchObject({ value: 'failover resolved: deferred 30.40 s, by the cooldown', met: true });
    });

    it('misses when the pool never answers, the all-clear never comes, or the failover opens again', () => {
      const never: PhaseRecord = { ...recovery, samples: steady(100, 'green'), alerts: [] };
      expect(verdict(never, 'blue serves again')).toMatchObject({ value: '–', met: false });
      expect(verdict(never, 'recovery alert').met).toBe(false);
      expect(verdict({ ...recovery, alerts: [] }, 'recovery alert')).toMatchObject({ value: 'no failover resolved', met: false });
      const reopened: PhaseRecord = { ...recovery, alerts: [alert('failover', 'opened', 12_000), alert('failover', 'resolved', 35_400)] };
      expect(verdict(reopened, 'failover reopened')).toMatchObject({ value: 1, met: false });
      // In maintenance the return of the pool shows as a suppressed opening: not counted.
      const suppressed = { decision: 'suppress', outcome: undefined, settledAt: undefined } as const;
      expect(verdict({ ...recovery, alerts: [alert('failover', 'opened', 5_100, suppressed)] }, 'failover reopened')).toMatchObject({ value: 0, met: true });
    });

    it('in maintenance an incident Slack never heard of resolves without a message: judged by when it left /stats', () => {
      const quiet: PhaseRecord = { ...recovery, alerts: [], quietAt: T0 + 5_002 + 30_600 };
      expect(verdict(quiet, 'recovery alert')).toMatchObject({ value: 'resolved without a message 30.60 s (maintenance: in its summary)', met: true });
    });
  });

  it('switch: both switches succeed, no failover page, the active pool serves at the end', () => {
    const phase: PhaseRecord = {
      ...base,
      kind: 'switch',
      name: 'switch',
      samples: [...steady(20, 'blue'), ...steady(20, 'green', T0 + 1_000), ...steady(20, 'blue', T0 + 2_000)],
      switches: [
        { to: 'green', code: 0, ms: 600, servedMs: 55 },
        { to: 'blue', code: 0, ms: 700, servedMs: 80 },
      ],
      // A deferred all-clear sent during the switch is no page.
      alerts: [alert('planned_switch', 'notice', 1_000), alert('failover', 'resolved', 1_500), alert('planned_switch', 'notice', 2_000)],
    };
    expect(judgePhase(phase, SETTINGS).verdicts.every((v) => v.met)).toBe(true);
    expect(judgePhase(phase, SETTINGS).row.alert).toBe('2 planned, 0 failover/outage');
    for (const page of [alert('failover', 'opened', 1_000, { decision: 'suppress' }), alert('outage', 'opened', 1_000)]) {
      expect(verdict({ ...phase, alerts: [page] }, 'failover/outage alerts')).toMatchObject({ value: 1, met: false });
    }
    const stuck: PhaseRecord = { ...phase, switches: [{ to: 'green', code: 0, ms: 600 }, { to: 'blue', code: 2, ms: 100 }] };
    expect(verdict(stuck, 'there and back')).toMatchObject({ value: '→green 600 ms, →blue exit 2', met: false });
    // The switch time each make switch printed: the slower one is judged, and one not reported fails.
    expect(verdict(phase, 'serves the new pool')).toMatchObject({ value: '80 ms', met: true });
    expect(verdict({ ...phase, switches: [{ to: 'green', code: 0, ms: 600 }, { to: 'blue', code: 0, ms: 700, servedMs: 80 }] }, 'serves the new pool').met).toBe(false);
    expect(verdict({ ...phase, switches: [{ to: 'green', code: 0, ms: 600, servedMs: 1_500 }, { to: 'blue', code: 0, ms: 700, servedMs: 80 }] }, 'serves the new pool').met).toBe(false);
  });

  it('the drill passes only when every verdict of every phase is met', () => {
    const good: PhaseRecord = { ...base, kind: 'baseline', name: 'baseline', samples: steady(20, 'blue') };
    const bad: PhaseRecord = { ...good, name: 'again', samples: steady(20, 'blue', T0, 2, 502) };
    expect(judgeDrill([good], SETTINGS).passed).toBe(true);
    expect(judgeDrill([good, bad], SETTINGS).passed).toBe(false);
    expect(judgeDrill([], SETTINGS).passed).toBe(false);
    expect(judgeDrill([good, bad], SETTINGS).rows.map((r) => r.phase)).toEqual(['baseline', 'again']);
  });

  it('the drill misses a failover message sent inside the cooldown after the previous one, across phases', () => {
    const stop = (alerts: RecentAlert[]): PhaseRecord => ({ ...base, kind: 'recovery', name: 'stop', eventAt: T0, samples: steady(10, 'blue', T0 + 1_000), alerts });
    const opened: PhaseRecord = { ...base, kind: 'chaos', mode: 'error', name: 'error', eventAt: T0, slack: 'clear', samples: steady(10, 'green'), alerts: [alert('failover', 'opened', 500)] };
    const metric = (records: PhaseRecord[]) => judgeDrill(records, SETTINGS).verdicts.find((v) => v.metric === 'failover messages inside the cooldown');
    expect(metric([opened, stop([alert('failover', 'resolved', 31_000, deferred)])])).toMatchObject({ value: 0, met: true });
    expect(metric([opened, stop([alert('failover', 'resolved', 31_000)])])).toMatchObject({ met: false });
  });
});

describe('release phases', () => {
  const OLD = 'v1';
  const NEW = 'drill-20261122010000-ok';
  /** `n` answers 50 ms apart from `start`, from `pool` as `release`. */
  const from = (n: number, pool: string, release: string, start: number, status = 200): Sample[] =>
    steady(n, pool, start, 2, status).map((s) => ({ ...s, release }));
  const figures: ReleaseFigures = {
    outcome: 'promoted',
    pool: 'green',
    fromPool: 'blue',
    release: NEW,
    fromRelease: OLD,
    deployMs: 8_000,
    pre: { requests: 300, p50Ms: 2, p99Ms: 9 },
    switchMs: 700,
    totalMs: 40_000,
  };
  // The new release first answers at +2 s; an old worker still answers a request sent 1.5 s later (within the grace).
  const good: PhaseRecord = {
    kind: 'release',
    name: 'release',
    active: 'blue',
    expected: 'promoted',
    figures,
    samples: [...from(40, 'blue', OLD, T0), ...from(10, 'green', NEW, T0 + 2_000), ...from(1, 'blue', OLD, T0 + 3_500), ...from(60, 'green', NEW, T0 + 4_000)],
    alerts: [alert('planned_switch', 'notice', 2_000), alert('release', 'notice', 40_000)],
  };

  it('a good release passes: promoted, all 200, answers from the new release from its first on, no failover', () => {
    const judged = judgePhase(good, SETTINGS);
    expect(judged.verdicts.filter((v) => !v.met)).toEqual([]);
    expect(judged.figures).toMatchObject({
      outcome: 'promoted',
      deployMs: 8_000,
      pre: { p50Ms: 2, p99Ms: 9 },
      switchMs: 700,
      totalMs: 40_000,
      switchover: { from: OLD, to: NEW, firstMs: 2_000, flipsBack: 0 },
      failoverOpenings: 0,
    });
    expect(judged.row.first).toBe('promoted: switch 700 ms');
  });

  it('an answer from the old release sent after the grace is a flip back; a release that never answered misses too', () => {
    const flipped: PhaseRecord = { ...good, samples: [...good.samples, ...from(1, 'blue', OLD, T0 + 4_100)] };
    expect(verdict(flipped, 'flip back')).toMatchObject({ value: 1, met: false });
    const never: PhaseRecord = { ...good, samples: from(40, 'blue', OLD, T0) };
    expect(verdict(never, 'flip back')).toMatchObject({ value: `${NEW} never answered`, met: false });
  });

  it('a non-200 or a failover opening (even a deferred one) misses', () => {
    expect(verdict({ ...good, samples: [...good.samples, ...from(1, 'green', NEW, T0 + 5_000, 502)] }, 'non-200')).toMatchObject({ value: 1, met: false });
    const paged: PhaseRecord = { ...good, alerts: [alert('failover', 'opened', 2_500, deferred)] };
    expect(verdict(paged, 'failover alerts')).toMatchObject({ value: 1, met: false });
  });

  it('an outcome other than the expected one misses, with the reason', () => {
    const blocked: PhaseRecord = { ...good, figures: { ...figures, outcome: 'blocked', reason: 'pre-promotion analysis: p99 latency 400 ms' } };
    expect(verdict(blocked, 'outcome')).toMatchObject({ value: 'blocked: pre-promotion analysis: p99 latency 400 ms', target: 'promoted', met: false });
  });

  describe('bad release', () => {
    const BAD = 'drill-20261122010000-bad';
    const badFigures: ReleaseFigures = {
      ...figures,
      outcome: 'rolled_back',
      reason: 'a client request was answered by release "drill-…-ok"',
      pool: 'blue',
      fromPool: 'green',
      release: BAD,
      fromRelease: NEW,
      rollback: { detectMs: 500, switchMs: 800, totalMs: 1_300 },
    };
    // Blue answers as the bad release for a moment, then green (failover, then the rollback) again.
    const bad: PhaseRecord = {
      kind: 'release',
      name: 'bad release',
      active: 'blue',
      expected: 'rolled_back',
      figures: badFigures,
      restored: { before: OLD, answered: OLD },
      samples: [...from(40, 'green', NEW, T0), ...from(3, 'blue', BAD, T0 + 2_000), ...from(60, 'green', NEW, T0 + 2_150)],
      alerts: [alert('failover', 'opened', 2_300)],
    };

    it('passes when rolled back within the bar, all 200, ending on the previous release with its pool restored', () => {
      const judged = judgePhase(bad, SETTINGS);
      expect(judged.verdicts.filter((v) => !v.met)).toEqual([]);
      expect(judged.figures).toMatchObject({ outcome: 'rolled_back', rollback: { totalMs: 1_300 }, rollbackBarMs: 10_000, servingAtEnd: NEW });
      expect(verdict(bad, 'first failure')).toMatchObject({ value: '1.30 s', target: '≤ 10 s' });
    });

    it('misses a rollback slower than the bar, or with no rollback time at all', () => {
      const slow: PhaseRecord = { ...bad, figures: { ...badFigures, rollback: { detectMs: 9_000, switchMs: 2_000, totalMs: 11_000 } } };
      expect(verdict(slow, 'first failure')).toMatchObject({ value: '11.00 s', met: false });
      const { rollback: _none, ...unmeasured } = badFigures;
      expect(verdict({ ...bad, figures: unmeasured }, 'first failure').met).toBe(false);
    });

    it('misses when promoted, still served at the end, or its pool not restored', () => {
      const promoted: PhaseRecord = { ...bad, figures: { ...badFigures, outcome: 'promoted', reason: undefined, rollback: undefined } };
      expect(verdict(promoted, 'outcome')).toMatchObject({ value: 'promoted', target: 'rolled_back', met: false });
      const stuck: PhaseRecord = { ...bad, samples: [...bad.samples, ...from(1, 'blue', BAD, T0 + 9_000)] };
      expect(verdict(stuck, 'serving at the end')).toMatchObject({ value: BAD, target: NEW, met: false });
      expect(verdict({ ...bad, restored: { before: OLD, answered: undefined } }, 'blue restored')).toMatchObject({ value: 'no answer', met: false });
    });
  });

  describe('rollback', () => {
    const rollback: PhaseRecord = {
      kind: 'rollback',
      name: 'rollback',
      active: 'blue',
      figures: { pool: 'blue', fromPool: 'green', release: OLD, fromRelease: NEW, switchMs: 650 },
      samples: [...from(20, 'green', NEW, T0), ...from(40, 'blue', OLD, T0 + 1_000)],
      alerts: [],
    };

    it('passes when the answers move back to the starting release on the starting pool for good', () => {
      const judged = judgePhase(rollback, SETTINGS);
      expect(judged.verdicts.filter((v) => !v.met)).toEqual([]);
      expect(judged.figures).toMatchObject({ switchMs: 650, switchover: { from: NEW, to: OLD, firstMs: 1_000, flipsBack: 0 } });
      expect(judged.row.first).toBe('→blue 650 ms');
    });

    it('misses a flip back after the grace or another pool serving at the end', () => {
      const flipped: PhaseRecord = { ...rollback, samples: [...rollback.samples, ...from(1, 'green', NEW, T0 + 3_500)] };
      expect(verdict(flipped, 'flip back')).toMatchObject({ value: 1, met: false });
      expect(verdict(flipped, 'serving at the end')).toMatchObject({ value: 'green', met: false });
    });
  });
});
