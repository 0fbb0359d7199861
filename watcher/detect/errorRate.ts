// ok → firing → ok for the window's error rate, reporting only the transitions
// so one incident pages once and resolves once.

/**
 * A firing error-rate alert resolves only once the rate is at or below this
 * fraction of the threshold. A rate hovering at the threshold would otherwise
 * fire and resolve every few lines and page on-call over and over for one
 * incident; half the threshold is a margin wide enough that noise around the
 * threshold cannot cross it, while a real recovery still does.
 */
export const RESOLVE_FRACTION = 0.5;

export type ErrorRateTransition = 'error_rate' | 'resolved';

export interface WindowLevel {
  size: number;
  count: number;
  errorRate: number;
}

export class ErrorRateState {
  /** `firing` restores a previous run's state, so a restart neither repeats nor forgets an open incident. */
  constructor(
    private readonly thresholdPercent: number,
    private firing = false,
  ) {
    if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0 || thresholdPercent > 100) {
      throw new RangeError(`threshold must be a percentage 0..100, got ${thresholdPercent}`);
    }
  }

  get isFiring(): boolean {
    return this.firing;
  }

  update(window: WindowLevel): ErrorRateTransition | undefined {
    // A part-filled window (startup, or a restart that restored a firing
    // alert) is too few requests to call a rate either way.
    if (window.count < window.size) return undefined;
    if (!this.firing) {
      if (window.errorRate <= this.thresholdPercent) return undefined;
      this.firing = true;
      return 'error_rate';
    }
    if (window.errorRate > this.thresholdPercent * RESOLVE_FRACTION) return undefined;
    this.firing = false;
    return 'resolved';
  }
}
