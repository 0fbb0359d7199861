// The watcher's words, each list said once: the TypeScript types, the zod
// enums of the saved state and /stats, and the Slack wording all derive from
// these arrays. Adding a word never invalidates a saved state; removing one
// would, so retire words by leaving them here.
import { z } from 'zod';

/** Conditions that open an incident: one open incident per condition at a time. */
export const INCIDENT_KINDS = [
  // The primary pool fails and the backup serves (Nginx's failover).
  'failover',
  // No pool could answer: clients get Nginx's 503.
  'outage',
  // Too many errors in the last WINDOW_SIZE requests, visible to clients or hidden by retries.
  'error_rate',
  // Some replicas of the primary pool fail and its other replicas serve: no failover.
  'degraded',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** The conditions of one pool: their incidents are keyed by kind and pool. */
const PER_POOL_KINDS: ReadonlySet<IncidentKind> = new Set(['failover', 'degraded']);

/**
 * One incident at a time per key: `failover:<pool>`, `degraded:<pool>`,
 * `outage`, `error_rate`. Every reader and writer of a key goes through these two.
 */
export function incidentKey(kind: IncidentKind, pool?: string): string {
  if (!PER_POOL_KINDS.has(kind)) return kind;
  if (pool === undefined) throw new Error(`incidentKey: ${kind} needs a pool`);
  return `${kind}:${pool}`;
}

/** The pool a key names (`failover:blue` → blue), or undefined for a condition of the whole stack. */
export function incidentKeyPool(key: string): string | undefined {
  const colon = key.indexOf(':');
  return colon > 0 && PER_POOL_KINDS.has(key.slice(0, colon) as IncidentKind) ? key.slice(colon + 1) : undefined;
}

/** One-off messages that are not incidents. */
export const NOTICE_KINDS = [
  'planned_switch',
  'maintenance_ended',
  'release',
  // The watcher started after an unclean stop (killed, crashed, host lost): how long it was blind.
  'watcher_restarted',
  // An incident that opened and resolved while the watcher was down, read from the log after its restart.
  'past_incident',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const ALERT_KINDS = [...INCIDENT_KINDS, ...NOTICE_KINDS] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const alertKind = z.enum(ALERT_KINDS);

/** What a message says about its incident. */
export const MESSAGE_KINDS = ['opened', 'updated', 'reminder', 'resolved', 'notice'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
export const messageKind = z.enum(MESSAGE_KINDS);

/**
 * How bad a condition is now. A change of level is what the policy reports
 * (a count that only grows is not news); `ok` is the all-clear.
 */
export const LEVELS = [
  'ok',
  // The primary serves again and is being watched for RECOVERY_HOLD_SEC.
  'recovering',
  // Errors hidden from clients by the retry on the backup.
  'masked',
  // The primary is failing and the backup serves.
  'failing',
  // The primary keeps failing and coming back: see detect/conditions.ts.
  'flapping',
  // Clients see errors.
  'client_visible',
  // No pool answers.
  'down',
] as const;
export type Level = (typeof LEVELS)[number];
export const level = z.enum(LEVELS);

/** Worse is higher: a message says whether a change made things worse or better. */
export const LEVEL_RANK: Record<Level, number> = {
  ok: 0,
  recovering: 1,
  masked: 2,
  failing: 3,
  flapping: 3,
  client_visible: 4,
  down: 5,
};

/** The policy's answer for each change it sees. */
export const DECISIONS = [
  'send',
  // Within ALERT_COOLDOWN_SEC of the incident's last message: sent when it ends, if still true.
  'defer',
  // Maintenance: the summary at its end says what is open.
  'suppress',
] as const;
export type Decision = (typeof DECISIONS)[number];
export const decision = z.enum(DECISIONS);

/** How a sent message's delivery ended. */
export const OUTCOMES = [
  'delivered',
  'failed',
  // The queue was full (SLACK_QUEUE_SIZE): the oldest message gave way.
  'dropped',
  // No SLACK_WEBHOOK_URL: written to the watcher's log, never posted.
  'dry_run',
] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const outcome = z.enum(OUTCOMES);

/** The message went where it was meant to go, so the policy may count it as told. */
export const reachedItsSink = (o: Outcome): boolean => o === 'delivered' || o === 'dry_run';

/**
 * What the audit trail (state/history.ts) records: the release CLI's steps
 * and the operator's switches, chaos and maintenance.
 */
export const AUDIT_ACTIONS = [
  'release',
  'promotion',
  'rollback',
  'switch',
  'chaos_start',
  'chaos_stop',
  'maintenance_on',
  'maintenance_off',
  // make test-alert: its outcome says whether Slack took the message.
  'test_alert',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const auditAction = z.enum(AUDIT_ACTIONS, { message: `expected one of ${AUDIT_ACTIONS.join(', ')}` });

/** How an audited action ended, or that it began. */
export const AUDIT_OUTCOMES = ['started', 'ok', 'blocked', 'promoted', 'rolled_back', 'interrupted', 'failed', 'refused'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export const auditOutcome = z.enum(AUDIT_OUTCOMES, { message: `expected one of ${AUDIT_OUTCOMES.join(', ')}` });

/** Why a delivery (to Slack, Alertmanager or the heartbeat) failed: the reasons /metrics counts. */
export const DELIVERY_FAILURES = [
  // No answer in time, or a 408.
  'timeout',
  // Refused, reset, DNS: no HTTP answer at all.
  'network',
  // 429: retried after Retry-After.
  'rate_limited',
  // Any other answer but a 2xx or 5xx (a 4xx: a revoked webhook, bad credentials): not retried.
  'http_4xx',
  'http_5xx',
  // Slack's Web API answered `ok: false` with an error no retry fixes (invalid_auth, not_in_channel, …).
  'rejected',
] as const;
export type DeliveryFailure = (typeof DELIVERY_FAILURES)[number];
