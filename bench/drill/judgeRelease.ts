// Judging the drill's release phases, pure like judge.ts: a good release must
// move every answer to the new release id for good, without a failed request
// or a failover page; a bad one must be rolled back within the bar, the
// failover covering the gap, and leave its pool as it was; the rollback to the
// starting pool must move the answers back for good.
import { SWITCH_GRACE_MS } from '../../ops/release/analysis.js';
import type { Sample } from '../../ops/stack/index.js';
import type { Verdict } from '../lib/report.js';
import { duration, loadFigures, non200Verdict, ok, round, row } from './figures.js';
import type { PhaseJudgement, PhaseRecord } from './records.js';

type ReleaseRecord = Extract<PhaseRecord, { kind: 'release' }>;
type RollbackRecord = Extract<PhaseRecord, { kind: 'rollback' }>;

export interface Switchover {
  from: string;
  to: string;
  /** When a request `to` answered was first sent, ms from the phase's first request; undefined when none was. */
  firstMs: number | undefined;
  /** Answers from any other release to requests sent more than SWITCH_GRACE_MS after that: flips back. */
  flipsBack: number;
}

/**
 * How the answers moved from release `from` to `to`. Old Nginx workers finish
 * what they hold after a switch, as the release gate and the watcher allow,
 * so only an answer from another release sent after that grace is a flip back.
 */
export function switchover(samples: readonly Sample[], from: string, to: string): Switchover {
  const answered = samples.filter(ok);
  const first = answered.find((s) => s.release === to)?.startedAt;
  if (first === undefined) return { from, to, firstMs: undefined, flipsBack: 0 };
  const flipsBack = answered.filter((s) => s.release !== to && s.startedAt > first + SWITCH_GRACE_MS).length;
  return { from, to, firstMs: round(first - (samples[0]?.startedAt ?? first)), flipsBack };
}

function switchoverVerdict(name: string, answers: Switchover): Verdict {
  return {
    metric: `${name}: answers flip back`,
    value: answers.firstMs === undefined ? `${answers.to} never answered` : answers.flipsBack,
    target: `0 (${SWITCH_GRACE_MS / 1000} s after its first answer)`,
    met: answers.firstMs !== undefined && answers.flipsBack === 0,
  };
}

/** The release id of the last 200, where the phase left the clients. */
const lastRelease = (samples: readonly Sample[]) => samples.filter(ok).at(-1)?.release;

export function judgeRelease(phase: ReleaseRecord, rollbackBarMs: number): PhaseJudgement {
  const load = loadFigures(phase.samples);
  const f = phase.figures;
  const { name } = phase;
  // Any failover opening, even one held back: a planned promotion must not look like a failure to the watcher.
  const openings = phase.alerts.filter((a) => a.kind === 'failover' && a.message === 'opened').length;
  const outcome: Verdict = {
    metric: `${name}: outcome`,
    value: f.reason === undefined ? f.outcome : `${f.outcome}: ${f.reason}`,
    target: phase.expected,
    met: f.outcome === phase.expected,
  };
  const shared = { ...load, expected: phase.expected, ...f, failoverOpenings: openings };
  if (phase.expected === 'promoted') {
    const answers = switchover(phase.samples, f.fromRelease, f.release);
    return {
      row: row(name, load, { first: `${f.outcome}: switch ${duration(f.switchMs)}`, alert: `${openings} failover opened` }),
      verdicts: [
        non200Verdict(name, load),
        outcome,
        switchoverVerdict(name, answers),
        { metric: `${name}: failover alerts`, value: openings, target: '0', met: openings === 0 },
      ],
      figures: { ...shared, switchover: answers },
    };
  }
  const rollbackMs = f.rollback?.totalMs;
  const last = lastRelease(phase.samples);
  const restored = phase.restored;
  return {
    row: row(name, load, { first: `${f.outcome}: back ${duration(rollbackMs)} after failure`, alert: `${openings} failover opened` }),
    verdicts: [
      non200Verdict(name, load),
      outcome,
      {
        metric: `${name}: rollback, first failure → previous release`,
        value: duration(rollbackMs),
        target: `≤ ${rollbackBarMs / 1000} s`,
        met: rollbackMs !== undefined && rollbackMs <= rollbackBarMs,
      },
      { metric: `${name}: serving at the end`, value: last ?? 'none', target: f.fromRelease, met: last === f.fromRelease },
      {
        metric: `${name}: ${f.pool} restored`,
        value: restored === undefined ? 'not checked' : (restored.answered ?? 'no answer'),
        target: restored?.before ?? 'its previous release',
        met: restored !== undefined && restored.answered === restored.before,
      },
    ],
    figures: { ...shared, rollbackBarMs, servingAtEnd: last, restored },
  };
}

export function judgeRollback(phase: RollbackRecord): PhaseJudgement {
  const load = loadFigures(phase.samples);
  const f = phase.figures;
  const { name, active } = phase;
  const answers = switchover(phase.samples, f.fromRelease, f.release);
  const last = phase.samples.filter(ok).at(-1)?.pool;
  return {
    row: row(name, load, { first: `→${f.pool} ${duration(f.switchMs)}` }),
    verdicts: [
      non200Verdict(name, load),
      switchoverVerdict(name, answers),
      { metric: `${name}: serving at the end`, value: last ?? 'none', target: active, met: last === active },
    ],
    figures: { ...load, ...f, switchover: answers },
  };
}
