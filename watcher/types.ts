// The data that flows through the watcher's pipeline:
//   source (lines) → parse (AccessRecord) → detect (Alert) → policy (Decision) → notify (Slack)
// Stages share only these types, so each can be tested alone.

/** One Nginx access-log line, parsed. See README "Access log format". */
export interface AccessRecord {
  /** `time=`, ISO 8601 with milliseconds, as Nginx wrote it. */
  time: string | undefined;
  requestId: string | undefined;
  method: string | undefined;
  path: string | undefined;
  /** Final status sent to the client. A line without one is malformed. */
  status: number;
  /** Pool that served the final attempt (`X-App-Pool`); undefined for `-`. */
  pool: string | undefined;
  release: string | undefined;
  /** Every upstream attempt, in order (`"500, 200"` → [500, 200]); empty for `-`. */
  upstreamStatuses: number[];
  upstreamAddrs: string[];
  requestTime: number | undefined;
  upstreamResponseTimes: number[];
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
