// What the policy hands to notify: structured data, not Slack text, so a
// message waiting for delivery is saved as data (checked field by field on
// load) and worded by the running version when it is sent.
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import { conditionViewSchema } from '../detect/index.js';
import { historyEntrySchema } from '../history.js';
import { INCIDENT_KINDS, level, type NoticeKind } from '../vocabulary.js';

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();
const release = z.string().max(200);
// A maintenance summary lists at most this many incidents; there are only a few conditions.
const MAX_LISTED = 10;

/** What Slack last heard about an incident. */
export const toldSchema = z.object({
  active: z.boolean(),
  level,
  failures: count,
  flips: count,
  at: epochMs,
  /** The message about it was not delivered: Slack's word is unknown, so the next chance re-sends the truth. */
  lost: z.boolean().optional(),
});
export type Told = z.output<typeof toldSchema>;

export const incidentNotificationSchema = z.object({
  kind: z.enum(INCIDENT_KINDS),
  message: z.enum(['opened', 'updated', 'reminder', 'resolved']),
  incidentId: z.string().min(1).max(80),
  openedAt: epochMs,
  at: epochMs,
  condition: conditionViewSchema,
  /** What Slack heard last, for the difference; absent on the first message. */
  before: toldSchema.optional(),
  /** Changes held back by the cooldown since `before`. */
  deferred: count,
});
export type IncidentNotification = z.output<typeof incidentNotificationSchema>;

/** A notice of `kind`: sent once, when it happened (`at`), with its own fields. */
function noticeSchema<K extends NoticeKind, S extends z.ZodRawShape>(kind: K, fields: S) {
  return z.object({ kind: z.literal(kind), message: z.literal('notice'), at: epochMs, ...fields });
}

export const plannedSwitchNotificationSchema = noticeSchema('planned_switch', {
  from: poolName,
  to: poolName,
  fromRelease: release.optional(),
  toRelease: release.optional(),
});
export type PlannedSwitchNotification = z.output<typeof plannedSwitchNotificationSchema>;

export const maintenanceNotificationSchema = noticeSchema('maintenance_ended', {
  /** Open now. */
  open: z.array(conditionViewSchema).max(MAX_LISTED),
  /** Slack last heard these were open; they resolved during maintenance. */
  resolved: z.array(conditionViewSchema).max(MAX_LISTED),
  /** Opened and resolved during maintenance, never announced. */
  quiet: count,
});
export type MaintenanceNotification = z.output<typeof maintenanceNotificationSchema>;

/** A step of a release, or a rollback, as `ctl record` wrote it to the history (state/outbox.ts). */
export const releaseNotificationSchema = noticeSchema('release', {
  entry: historyEntrySchema,
});
export type ReleaseNotification = z.output<typeof releaseNotificationSchema>;

/** The watcher found its run marker at start (state/runMarker.ts): it was down, and nobody was told. */
export const watcherRestartedNotificationSchema = noticeSchema('watcher_restarted', {
  /** The marker's last touch: the watcher was alive until then, give or take a second. */
  downSince: epochMs,
});
export type WatcherRestartedNotification = z.output<typeof watcherRestartedNotificationSchema>;

/** An incident read from the log after a restart that had already ended (detect/backlog.ts): told after the fact. */
export const pastIncidentNotificationSchema = noticeSchema('past_incident', {
  /** The condition as it resolved. */
  condition: conditionViewSchema,
  openedAt: epochMs,
  resolvedAt: epochMs,
});
export type PastIncidentNotification = z.output<typeof pastIncidentNotificationSchema>;

export const notificationSchema = z.union([
  incidentNotificationSchema,
  plannedSwitchNotificationSchema,
  maintenanceNotificationSchema,
  releaseNotificationSchema,
  watcherRestartedNotificationSchema,
  pastIncidentNotificationSchema,
]);
export type Notification = z.output<typeof notificationSchema>;

/** One-off news, not about an incident: sent once, at once. */
export type NoticeNotification = PlannedSwitchNotification | ReleaseNotification | WatcherRestartedNotification | PastIncidentNotification;
