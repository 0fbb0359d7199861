// What the detector is made with and what it hands on: its options, the
// state a restart carries over, and the notice of a planned switch.
import type { poolName } from '../../common/config.js';
import type { Clock, PlannedSwitch } from '../types.js';
import type { DegradedState, FailoverState, HeldState } from './conditions.js';
import type { ErrorRateSnapshot } from './errorRate.js';
import type { PoolFlipState } from './poolFlip.js';

type Pool = (typeof poolName.options)[number];

export interface DetectorOptions {
  activePool: string;
  windowSize: number;
  /** Attempts per pool in the failure-share window. */
  poolWindowSize: number;
  thresholdPercent: number;
  /** RECOVERY_HOLD_SEC in ms: steady service needed before a condition resolves. */
  recoveryHoldMs: number;
  clock: Clock;
  plannedSwitch: () => PlannedSwitch | undefined;
  /** Nginx's published primary: see PoolFlipOptions. */
  publishedPrimary?: () => string | undefined;
  /**
   * A previous run's state (watcher/state/checkpoint.ts); the windows start
   * empty. Its primary gives way to `activePool`: when they differ, the pools
   * were switched while the watcher was down, and the old primary's incidents
   * are closed as at a planned switch.
   */
  restore?: DetectorState;
}

/** What a restart must remember so it neither repeats an alert nor misses one. */
export interface DetectorState extends PoolFlipState {
  failover: Partial<Record<Pool, FailoverState>>;
  degraded?: Partial<Record<Pool, DegradedState>>;
  outage: HeldState;
  errorRate: ErrorRateSnapshot;
}

/** A planned switch seen in the log: a message, not an incident, so it comes as one the policy can pass on. */
export interface PlannedSwitchNotice {
  kind: 'planned_switch';
  message: 'notice';
  at: number;
  from: Pool;
  to: Pool;
  fromRelease?: string;
  toRelease?: string;
}

