// The detect stage: every parsed line goes through the error window, the
// pool-flip tracker and the error-rate state; alerts come out.
import type { AccessRecord, Alert, Clock, PlannedSwitch, WindowStats } from '../types.js';
import { ErrorRateState, type ErrorRateTransition } from './errorRate.js';
import { ErrorWindow } from './errorWindow.js';
import { type PoolFlip, PoolFlipTracker, type PoolFlipState } from './poolFlip.js';

export interface DetectorOptions {
  activePool: string;
  windowSize: number;
  thresholdPercent: number;
  clock: Clock;
  plannedSwitch: () => PlannedSwitch | undefined;
  /** A previous run's state (watcher/checkpoint.ts); the window itself starts empty. */
  restore?: DetectorState;
}

/** What a restart must remember so it neither repeats an alert nor misses one. */
export interface DetectorState extends PoolFlipState {
  errorRateFiring: boolean;
}

export class Detector {
  private readonly window: ErrorWindow;
  private readonly flips: PoolFlipTracker;
  private readonly errorRate: ErrorRateState;
  private readonly thresholdPercent: number;
  private readonly clock: Clock;

  constructor(opts: DetectorOptions) {
    this.window = new ErrorWindow(opts.windowSize);
    this.errorRate = new ErrorRateState(opts.thresholdPercent, opts.restore?.errorRateFiring);
    this.flips = new PoolFlipTracker(opts);
    this.thresholdPercent = opts.thresholdPercent;
    this.clock = opts.clock;
  }

  /** 0..2 alerts: a pool change first, then an error-rate transition. */
  observe(record: AccessRecord): Alert[] {
    this.window.push(record);
    const flip = this.flips.observe(record);
    const transition = this.errorRate.update(this.window);
    if (flip === undefined && transition === undefined) return [];
    return this.alerts(record, flip, transition);
  }

  // Apart from observe so that the per-line path stays small enough for V8 to
  // inline into its caller.
  private alerts(record: AccessRecord, flip: PoolFlip | undefined, transition: ErrorRateTransition | undefined): Alert[] {
    const base = {
      at: this.clock(),
      record,
      window: this.window.stats(),
      thresholdPercent: this.thresholdPercent,
      heldBack: 0,
    };
    const alerts: Alert[] = [];
    if (flip !== undefined) {
      const alert: Alert = { kind: flip.kind, ...base, from: flip.from, to: flip.to };
      if (flip.fromRelease !== undefined) alert.fromRelease = flip.fromRelease;
      if (flip.toRelease !== undefined) alert.toRelease = flip.toRelease;
      alerts.push(alert);
    }
    if (transition !== undefined) alerts.push({ kind: transition, ...base });
    return alerts;
  }

  get servingPool(): string {
    return this.flips.servingPool;
  }

  get primaryPool(): string {
    return this.flips.primaryPool;
  }

  state(): DetectorState {
    return { ...this.flips.state(), errorRateFiring: this.errorRate.isFiring };
  }

  windowStats(): WindowStats {
    return this.window.stats();
  }
}

