// The saved state of the watcher before incidents (version 1: events and a
// cooldown), carried over so an upgrade keeps its place in the log and what
// Slack last heard. Its undelivered messages were Slack payloads; they are not
// re-posted (nothing in the file is posted verbatim). What they would have
// said is decided again: an undelivered failover opens its incident anew, an
// undelivered recovery leaves the incident for the policy to resolve.
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import type { DetectorState } from '../detect/index.js';
import type { Incident, PolicyState, Told } from '../policy/index.js';
import { incidentKey, type IncidentKind, type Level } from '../vocabulary.js';
import { positionSchema, type SavedState } from './stateSchema.js';

const V1_KINDS = ['failover', 'recovery', 'planned_switch', 'error_rate', 'resolved'] as const;

export const version1Schema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  position: positionSchema,
  detector: z.object({
    servingPool: poolName,
    primaryPool: poolName,
    usedSwitchIds: z.array(z.string().min(1).max(64)).max(16),
    errorRateFiring: z.boolean(),
  }),
  pending: z.array(z.object({ kind: z.enum(V1_KINDS) })).max(10_000),
});

export function fromVersion1(v1: z.output<typeof version1Schema>): { state: SavedState; droppedMessages: number } {
  const parsedAt = Date.parse(v1.savedAt);
  const at = Number.isFinite(parsedAt) && parsedAt > 0 ? parsedAt : 1;
  const unsent = new Set(v1.pending.map((p) => p.kind));
  const { servingPool, primaryPool, usedSwitchIds, errorRateFiring } = v1.detector;
  const failing = servingPool !== primaryPool;
  const detector: DetectorState = {
    servingPool,
    primaryPool,
    usedSwitchIds,
    failover: {},
    outage: { active: false, since: 0, failures: 0 },
    errorRate: { active: errorRateFiring, since: errorRateFiring || unsent.has('resolved') ? at : 0, failures: 0 },
  };
  const incidents: Incident[] = [];
  if (failing || unsent.has('recovery')) {
    detector.failover[primaryPool] = { active: failing, since: at, failures: 0, flips: failing ? 1 : 0, recentFlips: [] };
    incidents.push(carried('failover', incidentKey('failover', primaryPool), at, failing, unsent.has('failover'), 'failing'));
  }
  if (errorRateFiring || unsent.has('resolved')) {
    incidents.push(carried('error_rate', 'error_rate', at, errorRateFiring, unsent.has('error_rate'), 'masked'));
  }
  const policy: PolicyState = { incidents, maintenance: false, quiet: 0 };
  return { state: { position: v1.position, detector, policy, pending: [] }, droppedMessages: v1.pending.length };
}

/**
 * An incident as version 1 left it. Open and its opening unsent: Slack never
 * heard it, so it opens anew. Otherwise Slack's last word was that it was
 * open: still open, the cooldown runs from the save; resolved meanwhile (an
 * unsent recovery), the all-clear goes out at once.
 */
function carried(kind: IncidentKind, key: string, at: number, active: boolean, openingUnsent: boolean, level: Level): Incident {
  const incident: Incident = { id: `${key}@${at}`, key, kind, openedAt: at, deferred: 0 };
  if (active && openingUnsent) return incident;
  const told: Told = { active: true, level, failures: 0, flips: kind === 'failover' ? 1 : 0, at };
  incident.told = told;
  if (active) incident.lastSentAt = at;
  return incident;
}
