// The drill's pure core: what each phase recorded (samples, event times, the
// watcher's alerts) in, figures, table rows and verdicts out. No I/O, no clock.
import type { Sample } from '../lib/load.js';
import { percentile, type Row, type Verdict } from '../lib/report.js';
import { otherPool, type ChaosMode, type PoolName, type RecentAlert } from '../lib/stack.js';

export const BARS = {
  /** Share of the requests sent after chaos began that the other pool must answer. */
  otherShare: 0.95,
  /** Chaos acknowledged → first 200 from the other pool. */
  firstOtherMs: 1_000,
  /** Event → alert delivered (or raised, when the policy holds it back). */
  alertMs: 5_000,
  /** Chaos stopped → the active pool answers again: Nginx's fail_timeout (5 s) plus 2 s of slack. */
  recoveryMs: 7_000,
} as const;

interface PhaseBase {
  name: string;
  /** The pool that serves when nothing is wrong. */
  active: PoolName;
  samples: Sample[];
  /** Alerts the watcher raised from the start of the phase until it ended. */
  alerts: RecentAlert[];
}

export type PhaseRecord =
  | (PhaseBase & { kind: 'baseline' })
  /** `eventAt`: epoch ms when the pool acknowledged chaos start (or stop). */
  | (PhaseBase & { kind: 'chaos'; mode: ChaosMode; eventAt: number })
  | (PhaseBase & { kind: 'recovery'; eventAt: number })
  | (PhaseBase & { kind: 'switch'; switches: { to: PoolName; code: number; ms: number }[] });

export interface AlertReport {
  kind: string;
  decision: RecentAlert['decision'];
  outcome: RecentAlert['outcome'];
  /** From the reference time to when the watcher raised / finished delivering it. */
  raisedMs: number;
  settledMs: number | undefined;
}

export interface PhaseJudgement {
  row: Row;
  verdicts: Verdict[];
  figures: Record<string, unknown>;
}

const done = (s: Sample) => s.startedAt + s.latencyMs;
const ok = (s: Sample) => s.status === 200;
/** "12 ms" below a second, "1.50 s" above: the bars are in seconds, but a fast failover deserves its digits. */
export const duration = (ms: number | undefined) =>
  ms === undefined ? '–' : Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
const pct = (share: number) => (Number.isNaN(share) ? '–' : `${(share * 100).toFixed(1)}%`);
const round = (ms: number) => Math.round(ms * 10) / 10;

/** Count, failures (by status, 0 = no answer, with the error), latency percentiles, answers per pool. */
export function loadFigures(samples: readonly Sample[]) {
  const latencies = samples.map((s) => s.latencyMs);
  const failures: Record<string, number> = {};
  const byPool: Record<string, number> = {};
  for (const s of samples) {
    if (!ok(s)) {
      const key = s.status === 0 ? `no answer (${s.error ?? 'unknown'})` : String(s.status);
      failures[key] = (failures[key] ?? 0) + 1;
    }
    if (ok(s) && s.pool !== undefined) byPool[s.pool] = (byPool[s.pool] ?? 0) + 1;
  }
  return {
    requests: samples.length,
    non200: samples.filter((s) => !ok(s)).length,
    failures,
    byPool,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(percentile(latencies, 100)),
  };
}

/** Share of `samples` answered 200 by `pool`; NaN when there are none. */
export function shareFrom(samples: readonly Sample[], pool: string): number {
  return samples.length === 0 ? Number.NaN : samples.filter((s) => ok(s) && s.pool === pool).length / samples.length;
}

/** Epoch ms at which the first 200 from `pool` that finished at or after `since` finished. */
export function firstAnswerFrom(samples: readonly Sample[], pool: string, since: number): number | undefined {
  let first: number | undefined;
  for (const s of samples) {
    if (ok(s) && s.pool === pool && done(s) >= since && (first === undefined || done(s) < first)) first = done(s);
  }
  return first;
}

/** The first alert of `kind` in `alerts`, timed from `from` (epoch ms). */
export function alertReport(alerts: readonly RecentAlert[], kind: string, from: number): AlertReport | undefined {
  const alert = alerts.find((a) => a.kind === kind);
  if (alert === undefined) return undefined;
  return {
    kind,
    decision: alert.decision,
    outcome: alert.outcome,
    raisedMs: round(Date.parse(alert.raisedAt) - from),
    settledMs: alert.settledAt === undefined ? undefined : round(Date.parse(alert.settledAt) - from),
  };
}

/** How the alert column reads, e.g. "failover sent 0.84 s" or "failover raised 0.80 s, held back by the cooldown". */
export function describeAlert(kind: string, report: AlertReport | undefined): string {
  if (report === undefined) return `no ${kind} alert`;
  const raised = `${kind} raised ${duration(report.raisedMs)}`;
  switch (report.decision) {
    case 'hold':
      return `${raised}, held back by the cooldown`;
    case 'suppress':
      return `${raised}, suppressed by maintenance`;
    case 'send':
      if (report.outcome === 'sent') return `${kind} sent ${duration(report.settledMs)}`;
      return `${raised}, ${report.outcome === undefined ? 'not delivered yet' : `delivery ${report.outcome}`}`;
  }
}

/**
 * The alert bar: delivered within BARS.alertMs. An alert the policy held
 * back (cooldown) or suppressed (maintenance) was never meant to reach Slack;
 * for it the bar is that the watcher raised it in time, and the value says
 * what became of it, so the table never passes off a held alert as sent.
 */
export function alertMet(report: AlertReport | undefined): boolean {
  if (report === undefined) return false;
  if (report.decision !== 'send') return report.raisedMs <= BARS.alertMs;
  return report.outcome === 'sent' && report.settledMs !== undefined && report.settledMs <= BARS.alertMs;
}

function alertVerdict(metric: string, kind: string, report: AlertReport | undefined): Verdict {
  return { metric, value: describeAlert(kind, report), target: `sent ≤ ${BARS.alertMs / 1000} s (raised, if held)`, met: alertMet(report) };
}

function non200Verdict(name: string, figures: { non200: number }): Verdict {
  return { metric: `${name}: non-200`, value: figures.non200, target: '0', met: figures.non200 === 0 };
}

const servedBy = (byPool: Record<string, number>, requests: number) =>
  Object.entries(byPool)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pool, n]) => `${pool} ${pct(n / requests)}`)
    .join(', ') || 'none';

function row(name: string, figures: ReturnType<typeof loadFigures>, extra: { served?: string; first?: string; alert?: string }): Row {
  return {
    phase: name,
    requests: figures.requests,
    'non-200': figures.non200,
    'served by': extra.served ?? servedBy(figures.byPool, figures.requests),
    'p50 ms': figures.p50Ms,
    'p99 ms': figures.p99Ms,
    'max ms': figures.maxMs,
    first: extra.first ?? '',
    alert: extra.alert ?? '',
  };
}

export function judgePhase(phase: PhaseRecord): PhaseJudgement {
  const figures = loadFigures(phase.samples);
  const { name, active } = phase;
  switch (phase.kind) {
    case 'baseline': {
      const share = shareFrom(phase.samples, active);
      return {
        row: row(name, figures, {}),
        verdicts: [
          non200Verdict(name, figures),
          { metric: `${name}: served by ${active}`, value: pct(share), target: '100%', met: share === 1 },
        ],
        figures: { ...figures, activeShare: share },
      };
    }
    case 'chaos': {
      const other = otherPool(active);
      const after = phase.samples.filter((s) => s.startedAt >= phase.eventAt);
      const share = shareFrom(after, other);
      const first = firstAnswerFrom(phase.samples, other, phase.eventAt);
      const firstMs = first === undefined ? undefined : round(first - phase.eventAt);
      const alert = alertReport(phase.alerts, 'failover', phase.eventAt);
      return {
        row: row(name, figures, {
          served: `${other} ${pct(share)}`,
          first: `${other} ${duration(firstMs)}`,
          alert: describeAlert('failover', alert),
        }),
        verdicts: [
          non200Verdict(name, figures),
          { metric: `${name}: served by ${other}`, value: pct(share), target: `≥ ${BARS.otherShare * 100}%`, met: share >= BARS.otherShare },
          {
            metric: `${name}: first ${other} answer`,
            value: duration(firstMs),
            target: `≤ ${BARS.firstOtherMs / 1000} s`,
            met: firstMs !== undefined && firstMs <= BARS.firstOtherMs,
          },
          alertVerdict(`${name}: failover alert`, 'failover', alert),
        ],
        figures: { ...figures, mode: phase.mode, otherShareAfterChaos: share, firstOtherMs: firstMs, alert },
      };
    }
    case 'recovery': {
      const first = firstAnswerFrom(phase.samples, active, phase.eventAt);
      const backMs = first === undefined ? undefined : round(first - phase.eventAt);
      // Recovery can only be reported once the pool is back: timed from its first answer.
      const alert = first === undefined ? undefined : alertReport(phase.alerts, 'recovery', first);
      return {
        row: row(name, figures, { first: `${active} ${duration(backMs)}`, alert: describeAlert('recovery', alert) }),
        verdicts: [
          non200Verdict(name, figures),
          {
            metric: `${name}: ${active} serves again`,
            value: duration(backMs),
            target: `≤ ${BARS.recoveryMs / 1000} s`,
            met: backMs !== undefined && backMs <= BARS.recoveryMs,
          },
          alertVerdict(`${name}: recovery alert`, 'recovery', alert),
        ],
        figures: { ...figures, activeBackMs: backMs, alert },
      };
    }
    case 'switch': {
      const pages = phase.alerts.filter((a) => a.kind === 'failover' || a.kind === 'recovery');
      const planned = phase.alerts.filter((a) => a.kind === 'planned_switch').length;
      const switched = phase.switches.map((s) => `→${s.to} ${s.code === 0 ? duration(s.ms) : `exit ${s.code}`}`).join(', ');
      const last = phase.samples.filter(ok).at(-1)?.pool;
      return {
        row: row(name, figures, { first: switched, alert: `${planned} planned, ${pages.length} failover/recovery` }),
        verdicts: [
          non200Verdict(name, figures),
          {
            metric: `${name}: make switch there and back`,
            value: switched || 'not run',
            target: 'both exit 0',
            met: phase.switches.length === 2 && phase.switches.every((s) => s.code === 0),
          },
          { metric: `${name}: failover/recovery alerts`, value: pages.length, target: '0', met: pages.length === 0 },
          { metric: `${name}: serving at the end`, value: last ?? 'none', target: active, met: last === active },
        ],
        figures: { ...figures, switches: phase.switches, plannedSwitchAlerts: planned, failoverAlerts: pages },
      };
    }
  }
}

/** The failover/recovery kinds whose last delivered alert is younger than the cooldown, so their next ones are held. */
export function coolingDown(alerts: readonly RecentAlert[], cooldownMs: number, now: number): { kind: string; agoMs: number }[] {
  const cooling: { kind: string; agoMs: number }[] = [];
  for (const kind of ['failover', 'recovery']) {
    const last = alerts.filter((a) => a.kind === kind && a.outcome === 'sent' && a.settledAt !== undefined).at(-1);
    const agoMs = last === undefined ? Infinity : now - Date.parse(last.settledAt as string);
    if (agoMs < cooldownMs) cooling.push({ kind, agoMs });
  }
  return cooling;
}

export interface DrillJudgement {
  rows: Row[];
  verdicts: Verdict[];
  phases: Record<string, unknown>[];
  passed: boolean;
}

export function judgeDrill(phases: readonly PhaseRecord[]): DrillJudgement {
  const judged = phases.map((p) => ({ name: p.name, ...judgePhase(p) }));
  const verdicts = judged.flatMap((j) => j.verdicts);
  return {
    rows: judged.map((j) => j.row),
    verdicts,
    phases: judged.map((j) => ({ name: j.name, ...j.figures })),
    passed: verdicts.length > 0 && verdicts.every((v) => v.met),
  };
}
