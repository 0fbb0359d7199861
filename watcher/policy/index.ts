// The policy stage: decides for each alert whether it goes to Slack now, waits
// out a cooldown, or is dropped because of planned maintenance.
import type { Alert, AlertKind, Clock } from '../types.js';
import { Cooldown } from './cooldown.js';

export type Decision =
  | { action: 'send'; alert: Alert }
  | { action: 'hold'; reason: 'cooldown'; alert: Alert }
  | { action: 'suppress'; reason: 'maintenance'; alert: Alert };

export interface AlertPolicyOptions {
  /** 0 disables the cooldown: every alert is sent, even while one of its kind is in flight. */
  cooldownMs: number;
  clock: Clock;
  maintenance: () => boolean;
}

// planned_switch is absent on purpose: it is informational and rare, and
// holding it would hide that a switch someone asked for has happened.
const COOLDOWN_KINDS: readonly AlertKind[] = ['failover', 'recovery', 'error_rate', 'resolved'];

export class AlertPolicy {
  private readonly cooldowns = new Map<AlertKind, Cooldown>();
  private readonly clock: Clock;
  private readonly maintenance: () => boolean;

  constructor(opts: AlertPolicyOptions) {
    if (!Number.isFinite(opts.cooldownMs) || opts.cooldownMs < 0) {
      throw new RangeError(`cooldownMs must be a non-negative number, got ${opts.cooldownMs}`);
    }
    this.clock = opts.clock;
    this.maintenance = opts.maintenance;
    if (opts.cooldownMs > 0) {
      for (const kind of COOLDOWN_KINDS) this.cooldowns.set(kind, new Cooldown(opts.cooldownMs));
    }
  }

  decide(alert: Alert): Decision {
    // First, so alerts dropped during maintenance are not counted as held back.
    if (this.maintenance()) return { action: 'suppress', reason: 'maintenance', alert };
    const cooldown = this.cooldowns.get(alert.kind);
    const heldBack = cooldown === undefined ? 0 : cooldown.trySend(this.clock());
    if (heldBack === undefined) return { action: 'hold', reason: 'cooldown', alert };
    return { action: 'send', alert: { ...alert, heldBack } };
  }

  delivered(alert: Pick<Alert, 'kind' | 'heldBack'>): void {
    this.cooldowns.get(alert.kind)?.delivered(this.clock(), alert.heldBack);
  }

  failed(alert: Pick<Alert, 'kind'>): void {
    this.cooldowns.get(alert.kind)?.failed();
  }
}
