// What the drill's phases record and what judging one gives: its own module
// so the phases, the failover judging (judge.ts) and the release judging
// (judgeRelease.ts) share the shapes without importing each other.
import type { ReleaseFigures, RollbackFigures } from '../../ops/release/release.js';
import type { ChaosMode, PoolName, RecentAlert, Sample } from '../../ops/stack/index.js';
import type { Row, Verdict } from '../lib/report.js';

/**
 * What Slack had last heard about the active pool's failover when chaos began:
 *   clear     nothing open (never opened, or the all-clear was sent): chaos opens a new incident;
 *   deferred  open, its all-clear held back by the cooldown: Slack's word is still "failing",
 *             so chaos is news to no one and the watcher rightly sends nothing;
 *   open      open and not even resolved: this chaos is part of the last incident.
 */
export type SlackWord = 'clear' | 'deferred' | 'open';

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
  /**
   * `eventAt`: epoch ms when the pool acknowledged chaos start. `slack`: what
   * Slack had last heard (undefined when /stats did not answer: judged as
   * clear). `withdrawnAt`, when deferred: when /stats first showed the held-back
   * all-clear withdrawn, i.e. the watcher saw the failure.
   */
  | (PhaseBase & { kind: 'chaos'; mode: ChaosMode; eventAt: number; slack?: SlackWord; withdrawnAt?: number })
  /**
   * `eventAt`: chaos stopped. `quietAt`: when the incident left /stats
   * without an all-clear, as one that opened in maintenance does.
   */
  | (PhaseBase & { kind: 'recovery'; eventAt: number; quietAt?: number })
  | (PhaseBase & { kind: 'switch'; switches: { to: PoolName; code: number; ms: number; servedMs?: number }[] })
  /**
   * A release through the release tool (ops/release): `figures`, what it
   * reported. `restored`, for one expected to roll back: the release the pool
   * it went to ran before, and the one that pool's own port answers as
   * afterwards (undefined: no answer).
   */
  | (PhaseBase & {
      kind: 'release';
      expected: 'promoted' | 'rolled_back';
      figures: ReleaseFigures;
      restored?: { before: string; answered: string | undefined };
    })
  /** `make rollback` through the release tool, back to the starting pool: `figures`, what it reported. */
  | (PhaseBase & { kind: 'rollback'; figures: RollbackFigures });

export interface PhaseJudgement {
  row: Row;
  verdicts: Verdict[];
  figures: Record<string, unknown>;
}
