// The saved state's shape (version 2), every field checked on load: the file
// is written by the watcher but lives where others can write.
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import { FLIPS_KEPT, REPLICAS_KEPT, type DetectorState } from '../detect/index.js';
import { notificationSchema, toldSchema, type Notification, type PolicyState } from '../policy/index.js';
import type { SourcePosition } from '../source/index.js';
import { INCIDENT_KINDS, level } from '../vocabulary.js';

export const VERSION = 2;

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();

const heldStateSchema = z.object({ active: z.boolean(), since: epochMs, failures: count, steadySince: epochMs.optional() });
const failoverStateSchema = heldStateSchema.extend({ flips: count, recentFlips: z.array(epochMs).max(FLIPS_KEPT) });
const degradedStateSchema = heldStateSchema.extend({
  replicas: z.array(z.object({ addr: z.string().min(1).max(100), failures: count, lastAt: epochMs })).max(REPLICAS_KEPT),
});

export const positionSchema = z.object({
  fingerprint: z.string().regex(/^[0-9a-f]{40}$/),
  fingerprintBytes: z.number().int().positive().max(256),
  offset: count,
});

const detectorSchema = z.object({
  servingPool: poolName,
  primaryPool: poolName,
  usedSwitchIds: z.array(z.string().min(1).max(64)).max(16),
  failover: z.object({ blue: failoverStateSchema.optional(), green: failoverStateSchema.optional() }),
  // Optional: a state saved before replicas has none.
  degraded: z.object({ blue: degradedStateSchema.optional(), green: degradedStateSchema.optional() }).optional(),
  outage: heldStateSchema,
  errorRate: heldStateSchema.extend({ clientVisible: z.boolean().optional() }),
});

const incidentSchema = z.object({
  id: z.string().min(1).max(80),
  key: z.string().min(1).max(40),
  kind: z.enum(INCIDENT_KINDS),
  openedAt: epochMs,
  told: toldSchema.optional(),
  lastSentAt: epochMs.optional(),
  deferred: count,
  reported: z.object({ active: z.boolean(), level }).optional(),
});

const policySchema = z.object({
  incidents: z.array(incidentSchema).max(20),
  maintenance: z.boolean(),
  quiet: count,
});

export const stateSchema = z.object({
  version: z.literal(VERSION),
  savedAt: z.string(),
  position: positionSchema,
  detector: detectorSchema,
  policy: policySchema,
  pending: z.array(notificationSchema).max(10_000),
});

export interface SavedState {
  position: SourcePosition;
  detector: DetectorState;
  policy: PolicyState;
  pending: Notification[];
}

// What the schema accepts is what the stages restore from: tied at compile time.
const accepted = (state: z.output<typeof stateSchema>): SavedState => state;
void accepted;

