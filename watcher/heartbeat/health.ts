// Is the watcher doing its job? The heartbeat's answer (and /healthz's), from
// what the source, the delivery queue and each Alertmanager report: pure, with the time passed in. A watcher
// that is dead or hung never gets here, and its silence is the alert.
import { duration } from '../notify/wording.js';
import type { SourceStatus } from '../source/index.js';

export interface DeliveryHealth {
  /** When the oldest alert still waiting for Slack was queued. */
  waitingSince?: number;
  /** When the last delivery ended without Slack taking it (failed or dropped); cleared by the next one delivered. */
  failedAt?: number;
  /** Why Slack did not take it, as the last attempt was answered (a bot token's error names its fix). */
  failedReason?: string;
}

/** One Alertmanager as its notifier reports it (notify/alertmanager.ts). */
export interface AlertmanagerHealth {
  url: string;
  /** Its last post was refused for good (a 4xx): no retry will fix it. */
  rejected?: boolean;
  lastError?: string;
  /** Since when its posts have failed, until one succeeds. */
  failingSince?: number;
}

export interface HealthInputs {
  now: number;
  source: Pick<SourceStatus, 'state' | 'path' | 'error'>;
  delivery: DeliveryHealth;
  /** Each Alertmanager of ALERTMANAGER_URL; none without it. */
  alertmanagers?: readonly AlertmanagerHealth[];
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

  check({ now, source, delivery, alertmanagers }: HealthInputs): Health {
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
      const why = delivery.failedReason === undefined ? "see the watcher's log" : delivery.failedReason;
      return { healthy: false, reason: `Slack did not take the alert of ${new Date(delivery.failedAt).toISOString()} (${why})` };
    }
    for (const am of alertmanagers ?? []) {
      // A refusal is the operator's to fix at once; an outage is retried, and counts past the grace.
      if (am.rejected) return { healthy: false, reason: `Alertmanager ${am.url} refuses the alerts: ${am.lastError ?? 'a 4xx'}` };
      if (am.failingSince !== undefined && now - am.failingSince >= this.graceMs) {
        return { healthy: false, reason: `Alertmanager ${am.url} unreachable for ${duration(now - am.failingSince)}: ${am.lastError ?? 'no answer'}` };
      }
    }
    return { healthy: true };
  }
}
