// A saved state (version 2), loaded section by section: one bad field costs
// its own section, not every open incident and the place in the log. Each
// section dropped is replaced by what a first start has, then the sections
// are made to agree again, so that Slack's latest word stays the truth:
//   - an undelivered message dropped marks what Slack heard of its incident
//     as unknown, as a failed delivery does, so the truth is sent again;
//   - an incident whose condition the detector lacks gets the condition back
//     from what Slack last heard, so it still resolves (and says so) instead
//     of staying open forever.
// Pure: the caller reads the file and logs what was dropped.
import type { z } from 'zod';
import { poolName } from '../../common/config.js';
import type { DetectorState } from '../detect/index.js';
import { notificationSchema, type Incident, type Notification, type PolicyState } from '../policy/index.js';
import { issueOf } from '../history.js';
import { incidentKeyPool } from '../vocabulary.js';
import {
  degradedStateSchema,
  errorRateStateSchema,
  failoverStateSchema,
  heldStateSchema,
  incidentSchema,
  maintenanceSchema,
  MAX_INCIDENTS,
  MAX_PENDING,
  poolsSchema,
  positionSchema,
  quietSchema,
  usedSwitchIdsSchema,
  type LoadedState,
} from './stateSchema.js';

type Pool = (typeof poolName.options)[number];

export interface DroppedSection {
  /** Where in the file: `position`, `detector.outage`, `policy.incidents`, `pending`, … */
  section: string;
  /** The first thing wrong with it, `field: problem`. */
  problem: string;
  /** What the watcher does without it. */
  consequence: string;
}

export interface DecodedState {
  state: LoadedState;
  dropped: DroppedSection[];
}

/** What the watcher does without each section: said in its warning. */
const WITHOUT = {
  position: 'the log is read from its end, as on a first start: lines written while the watcher was down are not read',
  pools: 'the pools are taken as on a first start (ACTIVE_POOL, unless Nginx published its primary)',
  usedSwitchIds: 'a planned-switch marker still in place may excuse one more pool change',
  condition: 'rebuilt from what Slack last heard of its incident, if it has one; otherwise as on a first start',
  incidents: 'open conditions are announced as new; an all-clear Slack is owed is not sent',
  maintenance: 'taken as off: a maintenance that ended while the watcher was down gets no summary',
  quiet: 'taken as 0: the next maintenance summary may count too few',
  pending: 'what Slack heard of their incidents is unknown, so the truth is sent again when the cooldown allows',
};

/** Reads sections, and keeps what it dropped and why. */
class Sections {
  readonly dropped: DroppedSection[] = [];

  drop(section: string, problem: string, consequence: string): void {
    this.dropped.push({ section, problem, consequence });
  }

  read<T>(section: string, schema: z.ZodType<T>, value: unknown, consequence: string): T | undefined {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    this.drop(section, issueOf(result.error), consequence);
    return undefined;
  }

  /**
   * The valid items of a list, each checked on its own, with one warning for
   * all it dropped; `rejected` is what it dropped, or `all` when the list
   * itself could not be read.
   */
  list<T>(section: string, schema: z.ZodType<T>, max: number, raw: unknown, consequence: string): { items: T[]; rejected: unknown[] | 'all' } {
    if (!Array.isArray(raw)) {
      this.drop(section, 'expected a list', `all dropped: ${consequence}`);
      return { items: [], rejected: 'all' };
    }
    const items: T[] = [];
    const rejected: unknown[] = [];
    let problem: string | undefined;
    raw.forEach((value, index) => {
      const result = index < max ? schema.safeParse(value) : undefined;
      if (result?.success) return void items.push(result.data);
      rejected.push(value);
      problem ??= result === undefined ? `more than ${max} entries` : `${index}.${issueOf(result.error)}`;
    });
    if (problem !== undefined) this.drop(section, problem, `${rejected.length} dropped: ${consequence}`);
    return { items, rejected };
  }
}

/** `file` is the parsed JSON of a version 2 state; `activePool` stands in for pools that cannot be read. */
export function decodeSections(file: Record<string, unknown>, activePool: Pool): DecodedState {
  const sections = new Sections();
  const position = sections.read('position', positionSchema, file.position, WITHOUT.position);
  const detector = detectorOf(file.detector, activePool, sections);
  const policy = policyOf(file.policy, sections);
  const pending = pendingOf(file.pending, policy.incidents, sections);
  rebuildConditions(detector, policy.incidents);
  return { state: { position, detector, policy, pending }, dropped: sections.dropped };
}

function detectorOf(raw: unknown, activePool: Pool, sections: Sections): DetectorState {
  const fresh: DetectorState = {
    servingPool: activePool,
    primaryPool: activePool,
    usedSwitchIds: [],
    failover: {},
    outage: { active: false, since: 0, failures: 0 },
    errorRate: { active: false, since: 0, failures: 0 },
  };
  const d = groupOf(raw, ['servingPool', 'primaryPool', 'usedSwitchIds', 'failover', 'degraded', 'outage', 'errorRate']);
  if (d === undefined) {
    sections.drop('detector', 'expected an object with its fields', `each condition ${WITHOUT.condition}; ${WITHOUT.pools}`);
    return fresh;
  }
  const pools = sections.read('detector.pools', poolsSchema, { servingPool: d.servingPool, primaryPool: d.primaryPool }, WITHOUT.pools) ?? fresh;
  return {
    servingPool: pools.servingPool,
    primaryPool: pools.primaryPool,
    usedSwitchIds: sections.read('detector.usedSwitchIds', usedSwitchIdsSchema, d.usedSwitchIds, WITHOUT.usedSwitchIds) ?? [],
    failover: perPool('detector.failover', failoverStateSchema, d.failover, sections) ?? {},
    // Optional: a state saved before replicas has none.
    degraded: perPool('detector.degraded', degradedStateSchema, d.degraded, sections),
    outage: sections.read('detector.outage', heldStateSchema, d.outage, WITHOUT.condition) ?? fresh.outage,
    errorRate: sections.read('detector.errorRate', errorRateStateSchema, d.errorRate, WITHOUT.condition) ?? fresh.errorRate,
  };
}

/** A condition per pool, each its own section; a pool without one never had it. */
function perPool<T>(section: string, schema: z.ZodType<T>, raw: unknown, sections: Sections): Partial<Record<Pool, T>> | undefined {
  if (raw === undefined) return undefined;
  const byPool: Partial<Record<Pool, T>> = {};
  const container = objectOf(raw);
  if (container === undefined) {
    sections.drop(section, 'expected an object', `each pool's condition ${WITHOUT.condition}`);
    return byPool;
  }
  for (const pool of poolName.options) {
    if (container[pool] === undefined) continue;
    const state = sections.read(`${section}.${pool}`, schema, container[pool], WITHOUT.condition);
    if (state !== undefined) byPool[pool] = state;
  }
  return byPool;
}

function policyOf(raw: unknown, sections: Sections): PolicyState {
  const p = groupOf(raw, ['incidents', 'maintenance', 'quiet']);
  if (p === undefined) {
    sections.drop('policy', 'expected an object with its fields', `no incident is known: ${WITHOUT.incidents}`);
    return { incidents: [], maintenance: false, quiet: 0 };
  }
  return {
    incidents: sections.list('policy.incidents', incidentSchema, MAX_INCIDENTS, p.incidents, WITHOUT.incidents).items,
    maintenance: sections.read('policy.maintenance', maintenanceSchema, p.maintenance, WITHOUT.maintenance) ?? false,
    quiet: sections.read('policy.quiet', quietSchema, p.quiet, WITHOUT.quiet) ?? 0,
  };
}

/** The undelivered messages; those dropped leave what Slack heard of their incidents unknown, as a failed delivery does. */
function pendingOf(raw: unknown, incidents: Incident[], sections: Sections): Notification[] {
  const { items, rejected } = sections.list('pending', notificationSchema, MAX_PENDING, raw, WITHOUT.pending);
  for (const incident of incidents) {
    const told = incident.told;
    const unheard = rejected === 'all' || rejected.some((message) => wasLatest(message, incident));
    if (told !== undefined && unheard) incident.told = { ...told, lost: true };
  }
  return items;
}

/**
 * Whether a dropped message may be the latest Slack was to hear of `incident`
 * (as in NotifyPolicy.settled): matched on whichever of its id and time can
 * still be read.
 */
function wasLatest(raw: unknown, incident: Incident): boolean {
  const message = objectOf(raw);
  if (message === undefined || message.message === 'notice') return false;
  const id = typeof message.incidentId === 'string' ? message.incidentId : undefined;
  const at = typeof message.at === 'number' ? message.at : undefined;
  if (id === undefined && at === undefined) return false;
  return (id === undefined || id === incident.id) && (at === undefined || at === incident.told?.at);
}

/** Gives every incident the detector cannot show a condition again, from what Slack last heard of it. */
function rebuildConditions(detector: DetectorState, incidents: readonly Incident[]): void {
  for (const incident of incidents) {
    const { told } = incident;
    const active = told === undefined || told.active;
    const held = { active, since: active ? incident.openedAt : told.at, failures: told?.failures ?? 0 };
    const pool = incidentKeyPool(incident.key) as Pool;
    switch (incident.kind) {
      case 'failover':
        if (!detector.failover[pool]?.since) detector.failover[pool] = { ...held, flips: told?.flips ?? 0, recentFlips: [] };
        break;
      case 'degraded':
        detector.degraded ??= {};
        if (!detector.degraded[pool]?.since) detector.degraded[pool] = { ...held, replicas: [] };
        break;
      case 'outage':
        if (!detector.outage.since) detector.outage = held;
        break;
      case 'error_rate':
        if (!detector.errorRate.since) detector.errorRate = { ...held, clientVisible: told?.level === 'client_visible' };
        break;
    }
  }
}

/** An object with at least one of `fields`: without any, it is not the group (one warning, not one per field). */
function groupOf(value: unknown, fields: readonly string[]): Record<string, unknown> | undefined {
  const group = objectOf(value);
  return group !== undefined && fields.some((field) => field in group) ? group : undefined;
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
