// GET /stats as its clients read it (the release tool, the drill, `make
// status`, the tests): the one schema they parse the answer with. The watcher
// builds the answer in operator/stats.ts, whose StatsSnapshot must fit this
// schema (a compile-time check there), so a field renamed or retyped on one
// side is a compile error, and a word the watcher adds to its vocabulary is
// one here too. Only what clients read is listed; zod drops the rest.
import { z } from 'zod';
import { alertKind, decision, level, messageKind, outcome, INCIDENT_KINDS, DECISIONS, OUTCOMES } from './vocabulary.js';

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

export const statsRecentAlertSchema = z.object({
  kind: alertKind,
  message: messageKind,
  text: z.string(),
  raisedAt: z.string(),
  decision,
  /** For sent messages, once delivery ended. */
  outcome: outcome.optional(),
  settledAt: z.string().optional(),
});

export const statsIncidentSchema = z.object({
  id: z.string(),
  key: z.string(),
  kind: z.enum(INCIDENT_KINDS),
  openedAt: epochMs,
  /** Slack's last word about it; absent until a message was sent. */
  told: z
    .object({ active: z.boolean(), level, failures: count, flips: count, at: epochMs, lost: z.boolean().optional() })
    .optional(),
  /** A change the cooldown is holding back (or maintenance suppressing), once reported. */
  reported: z.object({ active: z.boolean(), level }).optional(),
  lastSentAt: epochMs.optional(),
  deferred: count,
});

export const statsPoolSchema = z.object({
  failed: count,
  attempts: count,
  /** Since the watcher started: what an analysis takes differences of. */
  total: z.object({ attempts: count, failed: count }),
});

// Every decision and outcome, and what waits for delivery.
const alertCounts = z.record(z.enum([...DECISIONS, ...OUTCOMES, 'queued']), count);

export const statsResponseSchema = z.object({
  primaryPool: z.string(),
  servingPool: z.string(),
  maintenance: z.boolean(),
  pools: z.record(z.string(), statsPoolSchema),
  incidents: z.array(statsIncidentSchema),
  alerts: alertCounts,
  recentAlerts: z.array(statsRecentAlertSchema),
  lines: z.object({ read: count, malformed: count, droppedTooLong: count }),
  source: z.object({ rotations: count, truncations: count }),
});

export type StatsResponse = z.output<typeof statsResponseSchema>;
export type StatsIncident = z.output<typeof statsIncidentSchema>;
export type StatsRecentAlert = z.output<typeof statsRecentAlertSchema>;
export type StatsPool = z.output<typeof statsPoolSchema>;
