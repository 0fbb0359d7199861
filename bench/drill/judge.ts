// The drill's pure core: what each phase recorded (samples, event times, the
// watcher's alerts and what Slack had last heard) in, figures, table rows and
// verdicts out. No I/O, no clock.
//
// The watcher reports incidents: the failover opens with one message
// (kind failover, message opened) and ends with one all-clear (message
// resolved) once the pool has served steadily for RECOVERY_HOLD_SEC; a change
// within ALERT_COOLDOWN_SEC of the incident's last message is deferred, never
// dropped. So the bars are: the opening within 5 s of chaos, the all-clear
// within RECOVERY_HOLD_SEC + 5 s of the pool's first answer, and no message
// about an incident inside the cooldown after its last. The release phases
// are judged in judgeRelease.ts.
import type { Row, Verdict } from '../lib/report.js';
import { otherPool, type RecentAlert } from '../../ops/stack/index.js';
import { duration, firstAnswerFrom, loadFigures, non200Verdict, ok, pct, round, row, shareFrom } from './figures.js';
import { judgeRelease, judgeRollback } from './judgeRelease.js';
import { reachedItsSink } from '../../watcher/vocabulary.js';
import type { PhaseJudgement, PhaseRecord, SlackWord } from './records.js';

export const BARS = {
  /** Share of the requests sent after chaos began that the other pool must answer. */
  otherShare: 0.95,
  /** Chaos acknowledged → first 200 from the other pool. */
  firstOtherMs: 1_000,
  /** Chaos acknowledged → the failover's opening delivered (or decided, when maintenance suppresses it). */
  alertMs: 5_000,
  /** Chaos stopped → the active pool answers again: Nginx's fail_timeout (5 s) plus 2 s of slack. */
  recoveryMs: 7_000,
  /**
   * A bad release's first failure → traffic back on the previous release. The
   * post-promotion analysis checks every 0.5 s and rolls back after
   * ANALYSIS_MAX_FAILED_CHECKS failed checks (1 by default), then switches in
   * about a second; 10 s leaves room for a few more checks and a slow
   * switch, and is still well inside what clients would notice without the
   * failover.
   */
  rollbackMs: 10_000,
  /**
   * The control file written → Nginx serves the new pool. Nginx reads it
   * every 100 ms, so a healthy switch takes 0–100 ms plus the script's poll;
   * past a second something is wrong (docs/failover.md).
   */
  switchServedMs: 1_000,
} as const;

/** The watcher's settings the bars depend on (the stack's ALERT_COOLDOWN_SEC and RECOVERY_HOLD_SEC, in ms). */
export interface AlertSettings {
  cooldownMs: number;
  holdMs: number;
}

/**
 * The all-clear's bar, from the pool's first answer after chaos stopped: the
 * hold the watcher waits by design, plus the alert bar. Timed from that
 * answer, not from the stop, because the hold can only start once the pool
 * serves, and when it does is Nginx's fail_timeout, judged by its own bar
 * (BARS.recoveryMs).
 */
export const recoveryAlertMs = (settings: Pick<AlertSettings, 'holdMs'>) => settings.holdMs + BARS.alertMs;

export interface AlertReport {
  kind: RecentAlert['kind'];
  message: RecentAlert['message'];
  decision: RecentAlert['decision'];
  outcome: RecentAlert['outcome'];
  /** From the reference time to when the watcher decided it / its delivery ended. */
  raisedMs: number;
  settledMs: number | undefined;
}


/** The first alert of `kind` with `message` in `alerts`, timed from `from` (epoch ms). */
export function alertReport(
  alerts: readonly RecentAlert[],
  kind: RecentAlert['kind'],
  message: RecentAlert['message'],
  from: number,
): AlertReport | undefined {
  const alert = alerts.find((a) => a.kind === kind && a.message === message);
  if (alert === undefined) return undefined;
  return {
    kind,
    message,
    decision: alert.decision,
    outcome: alert.outcome,
    raisedMs: round(Date.parse(alert.raisedAt) - from),
    settledMs: alert.settledAt === undefined ? undefined : round(Date.parse(alert.settledAt) - from),
  };
}

/** How the alert column reads, e.g. "failover opened: sent 0.84 s" or "failover resolved: deferred 31.2 s, by the cooldown". */
export function describeAlert(label: string, report: AlertReport | undefined): string {
  if (report === undefined) return `no ${label}`;
  const raised = duration(report.raisedMs);
  switch (report.decision) {
    case 'defer':
      return `${label}: deferred ${raised}, by the cooldown`;
    case 'suppress':
      return `${label}: suppressed ${raised}, by maintenance`;
    case 'send':
      if (report.outcome === 'delivered') return `${label}: sent ${duration(report.settledMs)}`;
      if (report.outcome === 'dry_run') return `${label}: logged ${duration(report.settledMs)} (dry-run, not posted)`;
      return `${label}: decided ${raised}, ${report.outcome === undefined ? 'not delivered yet' : `delivery ${report.outcome}`}`;
  }
}

/**
 * The alert bar: delivered within `withinMs`. A message the policy deferred
 * (cooldown) or suppressed (maintenance) was never meant to reach Slack yet;
 * for it the bar is that the watcher decided it in time, and the value says
 * what became of it, so the table never passes off a held message as sent.
 */
export function alertMet(report: AlertReport | undefined, withinMs: number = BARS.alertMs): boolean {
  if (report === undefined) return false;
  if (report.decision !== 'send') return report.raisedMs <= withinMs;
  // In dry-run the log is where alerts go: the bar is the same, and the value says dry-run.
  return report.outcome !== undefined && reachedItsSink(report.outcome) && report.settledMs !== undefined && report.settledMs <= withinMs;
}

function alertVerdict(metric: string, label: string, report: AlertReport | undefined, withinMs: number): Verdict {
  return {
    metric,
    value: describeAlert(label, report),
    target: `sent ≤ ${withinMs / 1000} s (decided, if held)`,
    met: alertMet(report, withinMs),
  };
}

/** Failover messages that say it fails, sent or suppressed by maintenance: what reached, or would have reached, Slack. */
const failoverPages = (alerts: readonly RecentAlert[]) =>
  alerts.filter((a) => a.kind === 'failover' && a.decision !== 'defer' && a.message !== 'resolved');

/** Messages that tell on-call something is failing: an all-clear is not a page. */
const isPage = (a: RecentAlert) =>
  (a.kind === 'failover' || a.kind === 'outage') && (a.message === 'opened' || a.message === 'updated' || a.message === 'reminder');

export function judgePhase(phase: PhaseRecord, settings: AlertSettings): PhaseJudgement {
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
      const alert = alertReport(phase.alerts, 'failover', 'opened', phase.eventAt);
      const slack = slackWord(phase);
      const opening = openingVerdict(phase, slack, alert);
      const sent = failoverPages(phase.alerts).length;
      // One opening for a new incident; nothing while Slack still has the last one open.
      const expected = slack === 'deferred' || slack === 'open' ? 0 : 1;
      return {
        row: row(name, figures, { served: `${other} ${pct(share)}`, first: `${other} ${duration(firstMs)}`, alert: opening.value as string }),
        verdicts: [
          non200Verdict(name, figures),
          { metric: `${name}: served by ${other}`, value: pct(share), target: `≥ ${BARS.otherShare * 100}%`, met: share >= BARS.otherShare },
          {
            metric: `${name}: first ${other} answer`,
            value: duration(firstMs),
            target: `≤ ${BARS.firstOtherMs / 1000} s`,
            met: firstMs !== undefined && firstMs <= BARS.firstOtherMs,
          },
          opening,
          { metric: `${name}: failover messages`, value: sent, target: String(expected), met: sent === expected },
        ],
        figures: {
          ...figures,
          mode: phase.mode,
          otherShareAfterChaos: share,
          firstOtherMs: firstMs,
          slackBefore: slack,
          alert,
          withdrawnMs: phase.withdrawnAt === undefined ? undefined : round(phase.withdrawnAt - phase.eventAt),
          failoverMessages: sent,
        },
      };
    }
    case 'recovery': {
      const first = firstAnswerFrom(phase.samples, active, phase.eventAt);
      const backMs = first === undefined ? undefined : round(first - phase.eventAt);
      // The all-clear can only come RECOVERY_HOLD_SEC after the pool is back: timed from its first answer.
      const alert = first === undefined ? undefined : alertReport(phase.alerts, 'failover', 'resolved', first);
      const withinMs = recoveryAlertMs(settings);
      const quietMs = first === undefined || phase.quietAt === undefined ? undefined : round(phase.quietAt - first);
      const allClear: Verdict =
        alert === undefined && quietMs !== undefined
          ? {
              metric: `${name}: recovery alert`,
              value: `resolved without a message ${duration(quietMs)} (maintenance: in its summary)`,
              target: `≤ ${withinMs / 1000} s`,
              met: quietMs <= withinMs,
            }
          : alertVerdict(`${name}: recovery alert`, 'failover resolved', alert, withinMs);
      // Sent openings only: in maintenance the pool serving again is itself reported as a suppressed
      // opening (Slack never heard of the incident), which /stats does not tell apart from a new failure.
      const reopened = phase.alerts.filter((a) => a.kind === 'failover' && a.message === 'opened' && a.decision === 'send').length;
      return {
        row: row(name, figures, { first: `${active} ${duration(backMs)}`, alert: allClear.value as string }),
        verdicts: [
          non200Verdict(name, figures),
          {
            metric: `${name}: ${active} serves again`,
            value: duration(backMs),
            target: `≤ ${BARS.recoveryMs / 1000} s`,
            met: backMs !== undefined && backMs <= BARS.recoveryMs,
          },
          allClear,
          { metric: `${name}: failover reopened`, value: reopened, target: '0', met: reopened === 0 },
        ],
        figures: { ...figures, activeBackMs: backMs, alert, quietMs, recoveryAlertBarMs: withinMs },
      };
    }
    case 'switch': {
      const pages = phase.alerts.filter(isPage);
      const planned = phase.alerts.filter((a) => a.kind === 'planned_switch').length;
      const switched = phase.switches.map((s) => `→${s.to} ${s.code === 0 ? duration(s.ms) : `exit ${s.code}`}`).join(', ');
      // From the control file's write to Nginx serving the new pool: the switch itself.
      const served = phase.switches.map((s) => s.servedMs);
      const slowest = served.every((ms) => ms !== undefined) && served.length > 0 ? Math.max(...(served as number[])) : undefined;
      const last = phase.samples.filter(ok).at(-1)?.pool;
      return {
        row: row(name, figures, { first: switched, alert: `${planned} planned, ${pages.length} failover/outage` }),
        verdicts: [
          non200Verdict(name, figures),
          {
            metric: `${name}: make switch there and back`,
            value: switched || 'not run',
            target: 'both exit 0',
            met: phase.switches.length === 2 && phase.switches.every((s) => s.code === 0),
          },
          {
            metric: `${name}: Nginx serves the new pool after the switch`,
            value: slowest === undefined ? 'not reported' : duration(slowest),
            target: `≤ ${duration(BARS.switchServedMs)}`,
            met: slowest !== undefined && slowest <= BARS.switchServedMs,
          },
          { metric: `${name}: failover/outage alerts`, value: pages.length, target: '0', met: pages.length === 0 },
          { metric: `${name}: serving at the end`, value: last ?? 'none', target: active, met: last === active },
        ],
        figures: { ...figures, switches: phase.switches, plannedSwitchAlerts: planned, failoverAlerts: pages },
      };
    }
    case 'release':
      return judgeRelease(phase, BARS.rollbackMs);
    case 'rollback':
      return judgeRollback(phase);
  }
}

type ChaosRecord = Extract<PhaseRecord, { kind: 'chaos' }>;

/** Slack's word when chaos began; a deferred all-clear whose cooldown ran out as chaos began was sent, and Slack's word was clear. */
function slackWord(phase: ChaosRecord): SlackWord | undefined {
  const sentAllClear = phase.alerts.some((a) => a.kind === 'failover' && a.message === 'resolved' && a.decision === 'send');
  return phase.slack === 'deferred' && sentAllClear ? 'clear' : phase.slack;
}

/**
 * The failover alert of a chaos phase. A new incident: its opening, within
 * BARS.alertMs. When Slack still has the last incident open with its
 * all-clear deferred, the watcher rightly says nothing; what shows it saw the
 * failure is the deferred all-clear withdrawn, within the same bar.
 */
function openingVerdict(phase: ChaosRecord, slack: SlackWord | undefined, alert: AlertReport | undefined): Verdict {
  const metric = `${phase.name}: failover alert`;
  if (slack === 'open') {
    return { metric, value: 'none: part of the last failover, which never resolved', target: 'a new incident', met: false };
  }
  if (slack !== 'deferred') return alertVerdict(metric, 'failover opened', alert, BARS.alertMs);
  const withdrawnMs = phase.withdrawnAt === undefined ? undefined : round(phase.withdrawnAt - phase.eventAt);
  const value =
    withdrawnMs === undefined
      ? 'none due (still open in Slack), but its deferred all-clear was never withdrawn'
      : `none due (still open in Slack); deferred all-clear withdrawn ${duration(withdrawnMs)}`;
  return {
    metric,
    value,
    target: `seen ≤ ${BARS.alertMs / 1000} s`,
    met: alert === undefined && withdrawnMs !== undefined && withdrawnMs <= BARS.alertMs,
  };
}

/**
 * Failover messages (sent, not deferred) inside the cooldown after the
 * previous one, in the order raised: an opening starts a new incident and may
 * follow at once; anything else about the incident must wait the cooldown.
 */
export function repeatsInCooldown(alerts: readonly RecentAlert[], cooldownMs: number): RecentAlert[] {
  const sent = alerts.filter((a) => a.kind === 'failover' && a.decision === 'send');
  const repeats: RecentAlert[] = [];
  for (let i = 1; i < sent.length; i++) {
    const [prev, next] = [sent[i - 1] as RecentAlert, sent[i] as RecentAlert];
    if (next.message !== 'opened' && Date.parse(next.raisedAt) - Date.parse(prev.raisedAt) < cooldownMs) repeats.push(next);
  }
  return repeats;
}

/** The incident kinds whose last message sent is younger than the cooldown, so their next changes are deferred. */
export function coolingDown(alerts: readonly RecentAlert[], cooldownMs: number, now: number): { kind: string; agoMs: number }[] {
  const cooling: { kind: string; agoMs: number }[] = [];
  for (const kind of ['failover', 'outage', 'error_rate'] as const) {
    const last = alerts.filter((a) => a.kind === kind && a.decision === 'send').at(-1);
    const agoMs = last === undefined ? Infinity : now - Date.parse(last.raisedAt);
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

export function judgeDrill(phases: readonly PhaseRecord[], settings: AlertSettings): DrillJudgement {
  const judged = phases.map((p) => ({ name: p.name, ...judgePhase(p, settings) }));
  const verdicts = judged.flatMap((j) => j.verdicts);
  if (phases.some((p) => p.kind !== 'baseline')) {
    // Each alert once (phases do not overlap, but a phase's list is read after it ends), oldest first.
    const alerts = [...new Map(phases.flatMap((p) => p.alerts).map((a) => [`${a.raisedAt} ${a.text}`, a])).values()].sort(
      (a, b) => Date.parse(a.raisedAt) - Date.parse(b.raisedAt),
    );
    const repeats = repeatsInCooldown(alerts, settings.cooldownMs);
    verdicts.push({
      metric: 'failover messages inside the cooldown',
      value: repeats.length === 0 ? 0 : `${repeats.length}: ${repeats.map((a) => a.text).join('; ').slice(0, 200)}`,
      target: `0 (ALERT_COOLDOWN_SEC=${settings.cooldownMs / 1000})`,
      met: repeats.length === 0,
    });
  }
  return {
    rows: judged.map((j) => j.row),
    verdicts,
    phases: judged.map((j) => ({ name: j.name, ...j.figures })),
    passed: verdicts.length > 0 && verdicts.every((v) => v.met),
  };
}
