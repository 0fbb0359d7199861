// Is the watcher doing its job? The heartbeat's answer, from what the source
// and the delivery queue report: pure, with the time passed in. A watcher
// that is dead or hung never gets here, and its silence is the alert.
import { duration } from '../notify/wording.js';
import type { SourceStatus } from '../source/index.js';

export interface DeliveryHealth {
  /** When the oldest alert still waiting for Slack was queued. */
  waitingSince?: number;
  /** When the last delivery ended without Slack taking it (failed or dropped); cleared by the next one delivered. */
  failedAt?: number;
}

export interface HealthInputs {
  now: number;
  source: Pick<SourceStatus, 'state' | 'path' | 'error'>;
  delivery: DeliveryHealth;
}

export type Health = { healthy: true } | { healthy: false; reason: string };

export class HealthCheck {
  private unreadableSince: number | undefined;

  /**
   * `graceMs`: how long the log may be missing and an alert may wait before
   * it counts. The log is missing for a moment at every start and rotation,
   * and a Slack hiccup is retried: neither should page anyone.
   */
  constructor(private readonly graceMs: number) {}

  check({ now, source, delivery }: HealthInputs): Health {
    const unreadable = source.state === 'waiting' || source.error !== undefined;
    this.unreadableSince = unreadable ? (this.unreadableSince ?? now) : undefined;
    if (this.unreadableSince !== undefined && now - this.unreadableSince >= this.graceMs) {
      const why = source.error ?? 'no such file';
      return { healthy: false, reason: `cannot read the access log ${source.path} for ${duration(now - this.unreadableSince)}: ${why}` };
    }
    if (delivery.waitingSince !== undefined && now - delivery.waitingSince >= this.graceMs) {
      return { healthy: false, reason: `an alert has waited ${duration(now - delivery.waitingSince)} for Slack` };
    }
    if (delivery.failedAt !== undefined) {
      return { healthy: false, reason: `Slack did not take the alert of ${new Date(delivery.failedAt).toISOString()} (see the watcher's log)` };
    }
    return { healthy: true };
  }
}
