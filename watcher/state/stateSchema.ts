// The saved state's shape (version 2), in the sections it is loaded by
// (stateSections.ts), every field checked: the file is written by the watcher
// but lives where others can write. Each bound here is one its writer keeps:
// a value the writer could exceed would not load.
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import { FLIPS_KEPT, REPLICAS_KEPT, type DetectorState } from '../detect/index.js';
import { notificationSchema, toldSchema, type Notification, type PolicyState } from '../policy/index.js';
import type { SourcePosition } from '../source/index.js';
import { INCIDENT_KINDS, level, type IncidentKind } from '../vocabulary.js';

export const VERSION = 2;

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

/** A planned-switch marker's id, kept among the detector's used ids: control.ts refuses a marker whose id is not one. */
export const switchIdSchema = z.string().min(1).max(64);
/** The detector keeps the last 16 used ids (detect/poolFlip.ts). */
const USED_SWITCH_IDS = 16;

export const heldStateSchema = z.object({ active: z.boolean(), since: epochMs, failures: count, steadySince: epochMs.optional() });
/** The failing pool's attempts since its incident opened: optional, a state saved before it was kept has none. */
const sinceOpenSchema = z.object({ attempts: count, failed: count }).optional();
export const failoverStateSchema = heldStateSchema.extend({
  flips: count,
  recentFlips: z.array(epochMs).max(FLIPS_KEPT),
  sinceOpen: sinceOpenSchema,
});
export const degradedStateSchema = heldStateSchema.extend({
  replicas: z.array(z.object({ addr: z.string().min(1).max(100), failures: count, lastAt: epochMs })).max(REPLICAS_KEPT),
  sinceOpen: sinceOpenSchema,
});
export const errorRateStateSchema = heldStateSchema.extend({ clientVisible: z.boolean().optional() });

export const positionSchema = z.object({
  fingerprint: z.string().regex(/^[0-9a-f]{40}$/),
  fingerprintBytes: z.number().int().positive().max(256),
  offset: count,
});

export const poolsSchema = z.object({ servingPool: poolName, primaryPool: poolName });
export const usedSwitchIdsSchema = z.array(switchIdSchema).max(USED_SWITCH_IDS);

export const incidentSchema = z
  .object({
    id: z.string().min(1).max(80),
    key: z.string().min(1).max(40),
    kind: z.enum(INCIDENT_KINDS),
    openedAt: epochMs,
    told: toldSchema.optional(),
    lastSentAt: epochMs.optional(),
    deferred: count,
    reported: z.object({ active: z.boolean(), level }).optional(),
  })
  // An incident is matched to its condition by key: one that names none would stay open forever.
  .refine((incident) => conditionKeys(incident.kind).includes(incident.key), {
    message: 'does not name a condition of its kind',
    path: ['key'],
  });

/** The detector's keys for a kind of condition (detect/index.ts): one per pool, or one. */
function conditionKeys(kind: IncidentKind): string[] {
  return kind === 'failover' || kind === 'degraded' ? poolName.options.map((pool) => `${kind}:${pool}`) : [kind];
}
/** One per condition: two pools of failover and degraded, an outage and the error rate, with room to spare. */
export const MAX_INCIDENTS = 20;
export const maintenanceSchema = z.boolean();
export const quietSchema = count;

/**
 * The delivery queue holds up to SLACK_QUEUE_SIZE (at most 10,000) waiting
 * messages plus the one being sent, and saves them all.
 */
export const MAX_PENDING = 10_000 + 1;

/** What a restart resumes from. */
export interface SavedState {
  position: SourcePosition;
  detector: DetectorState;
  policy: PolicyState;
  pending: Notification[];
}

/** A saved state as loaded: without a position when the saved one was unusable, so the source starts where a first start does. */
export type LoadedState = Omit<SavedState, 'position'> & { position?: SourcePosition | undefined };

// What the sections accept is what the stages restore from: tied at compile time.
const accepted = (
  position: z.output<typeof positionSchema>,
  pools: z.output<typeof poolsSchema>,
  usedSwitchIds: z.output<typeof usedSwitchIdsSchema>,
  failover: z.output<typeof failoverStateSchema>,
  degraded: z.output<typeof degradedStateSchema>,
  held: z.output<typeof heldStateSchema>,
  errorRate: z.output<typeof errorRateStateSchema>,
  incident: z.output<typeof incidentSchema>,
  pending: z.output<typeof notificationSchema>,
): LoadedState => ({
  position,
  detector: { ...pools, usedSwitchIds, failover: { blue: failover }, degraded: { blue: degraded }, outage: held, errorRate },
  policy: { incidents: [incident], maintenance: false, quiet: 0 },
  pending: [pending],
});
void accepted;
