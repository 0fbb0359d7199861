// The data that flows through the watcher's pipeline:
//   source (lines) → parse (AccessRecord) → detect (Alert) → policy (Decision) → notify (Slack)
// Stages share only these types, so each can be tested alone.

/**
 * One Nginx access-log line, parsed. See README "Access log format".
 * The parser's records decode a field each time it is read (the detector reads
 * few of them), so read a field once rather than in a loop.
 */
export interface AccessRecord {
  /** `time=`, ISO 8601 with milliseconds, as Nginx wrote it. */
  readonly time: string | undefined;
  readonly requestId: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** Final status sent to the client. A line without one is malformed. */
  readonly status: number;
  /** Pool that served the final attempt (`X-App-Pool`); undefined for `-`. */
  readonly pool: string | undefined;
  readonly release: string | undefined;
  /** Every upstream attempt, in order (`"500, 200"` → [500, 200]); empty for `-`. */
  readonly upstreamStatuses: readonly number[];
  readonly upstreamAddrs: readonly string[];
  readonly requestTime: number | undefined;
  readonly upstreamResponseTimes: readonly number[];
}

export type ParseResult =
  | { ok: true; record: AccessRecord }
  | { ok: false; reason: string };

export type AlertKind = 'failover' | 'recovery' | 'planned_switch' | 'error_rate' | 'resolved';

/** Error shares over the last `size` requests. Rates are percentages, 0..100. */
export interface WindowStats {
  size: number;
  count: number;
  /** Requests that are errors: final status 5xx or any upstream attempt 5xx. */
  errors: number;
  /** Requests whose final (client-visible) status is 5xx. */
  clientErrors: number;
  /** Requests with at least one upstream attempt 5xx (masked or not). */
  upstreamErrors: number;
  errorRate: number;
  clientErrorRate: number;
  upstreamErrorRate: number;
  /** The upstream address with the most 5xx attempts in the window. */
  topFailingUpstream: { addr: string; failures: number } | undefined;
}

export interface Alert {
  kind: AlertKind;
  /** Epoch ms, from the injected clock. */
  at: number;
  /** Pool change alerts (failover, recovery, planned_switch). */
  from?: string;
  to?: string;
  fromRelease?: string;
  toRelease?: string;
  /** The line that triggered the alert. */
  record?: AccessRecord;
  window: WindowStats;
  thresholdPercent: number;
  /** Set by the policy: alerts of this kind held back by the cooldown since the last one sent. */
  heldBack: number;
}

/** A `make switch` announced ahead of time, so the flip it causes is not paged as a failover. */
export interface PlannedSwitch {
  id: string;
  from: string | undefined;
  to: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
}

export type Clock = () => number;
