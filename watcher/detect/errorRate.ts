// ok → firing → ok for the window's error rate: the error_rate condition.
// Hysteresis rather than a hold: the window itself is the memory (it takes
// WINDOW_SIZE requests to forget an error), and the rate must fall well under
// the threshold before the condition resolves.
import type { Clock } from '../types.js';
import type { HeldState } from './conditions.js';
import { baseView, type ConditionView, type RequestSample, type ViewContext } from './view.js';

/** The error rate's state: a held state plus whether clients see the errors. */
export interface ErrorRateSnapshot extends HeldState {
  clientVisible?: boolean;
}

/**
 * A firing error-rate alert resolves only once the rate is at or below this
 * fraction of the threshold. A rate hovering at the threshold would otherwise
 * fire and resolve every few lines and page on-call over and over for one
 * incident; half the threshold is a margin wide enough that noise around the
 * threshold cannot cross it, while a real recovery still does.
 */
export const RESOLVE_FRACTION = 0.5;

export interface WindowLevel {
  size: number;
  count: number;
  errorRate: number;
  clientErrorRate: number;
}

// The same few getters as HeldCondition, kept apart on purpose: a shared base
// class reads three state shapes on the per-line path and made the core
// benchmark about 10% slower.
export class ErrorRateState {
  readonly key = 'error_rate';
  private state: ErrorRateSnapshot;
  /** The request that last opened it, for the message's details. */
  lastFailure: RequestSample | undefined;

  /** `restore` is a previous run's state, so a restart neither repeats nor forgets an open incident. */
  constructor(
    private readonly thresholdPercent: number,
    restore?: ErrorRateSnapshot,
  ) {
    if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0 || thresholdPercent > 100) {
      throw new RangeError(`threshold must be a percentage 0..100, got ${thresholdPercent}`);
    }
    this.state = restore === undefined ? { active: false, since: 0, failures: 0 } : { ...restore };
  }

  get active(): boolean {
    return this.state.active;
  }

  get since(): number {
    return this.state.since;
  }

  get failures(): number {
    return this.state.failures;
  }

  /** Whether clients see the errors, as of the last full window: a restart empties the window, not the answer. */
  get clientVisible(): boolean {
    return this.state.clientVisible === true;
  }

  /** `errorFlags` is what the window said of the request just pushed (0: no error). True when it opened or resolved. */
  update(window: WindowLevel, errorFlags: number, clock: Clock): boolean {
    const s = this.state;
    if (s.active && errorFlags !== 0) s.failures++;
    // A part-filled window (startup, or a restart that restored a firing
    // alert) is too few requests to call a rate either way.
    if (window.count < window.size) return false;
    // With the same hysteresis as the rate itself: errors that clients saw
    // stay "client-visible" while the window forgets them, never "hidden".
    if (s.active && window.clientErrorRate > this.thresholdPercent) s.clientVisible = true;
    else if (s.active && window.clientErrorRate <= this.thresholdPercent * RESOLVE_FRACTION) s.clientVisible = false;
    if (!s.active) {
      if (window.errorRate <= this.thresholdPercent) return false;
      this.state = {
        active: true,
        since: clock(),
        failures: s.failures + 1,
        clientVisible: window.clientErrorRate > this.thresholdPercent,
      };
      return true;
    }
    if (window.errorRate > this.thresholdPercent * RESOLVE_FRACTION) return false;
    this.state = { active: false, since: clock(), failures: s.failures };
    return true;
  }

  /**
   * Undefined until it first opens. No hold of its own: the recovery hold
   * (`holdMs`) is what the view reports, as for every condition.
   */
  view(ctx: ViewContext, holdMs: number): ConditionView | undefined {
    if (this.since === 0) return undefined;
    const level = !this.active ? 'ok' : this.clientVisible ? 'client_visible' : 'masked';
    return baseView(ctx, this.key, 'error_rate', this, level, holdMs, undefined, this.lastFailure);
  }

  snapshot(): ErrorRateSnapshot {
    return { ...this.state };
  }
}
