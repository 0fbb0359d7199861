// What the detect stage tells the policy about each condition: plain data,
// declared once as zod schemas because it also travels in the saved state
// (messages waiting for delivery), where every field is checked on load.
// Text that came from a log line is cut to a bound here, so a view always
// passes its own schema.
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import type { AccessRecord } from '../types.js';
import { INCIDENT_KINDS, level } from '../vocabulary.js';
import type { Attempt } from './attempts.js';
import { REPLICAS_KEPT } from './conditions.js';

const count = z.number().int().nonnegative();
const epochMs = z.number().int().nonnegative();
const MAX_ADDR = 100;
const MAX_PATH = 2048;
const MAX_METHOD = 32;
const MAX_RELEASE = 200;
const MAX_ATTEMPTS = 8;

export const windowStatsSchema = z.object({
  size: count,
  count,
  /** Requests that are errors: final status 5xx or any upstream attempt 5xx. */
  errors: count,
  /** Requests whose final (client-visible) status is 5xx. */
  clientErrors: count,
  /** Requests with at least one upstream attempt 5xx (masked or not). */
  upstreamErrors: count,
  /** Percentages, 0..100. */
  errorRate: z.number().min(0).max(100),
  clientErrorRate: z.number().min(0).max(100),
  upstreamErrorRate: z.number().min(0).max(100),
  /** The upstream address with the most 5xx attempts in the window. */
  topFailingUpstream: z.object({ addr: z.string().max(MAX_ADDR), failures: count }).optional(),
});
/** Error shares over the last `size` requests. */
export type WindowStats = z.output<typeof windowStatsSchema>;

/** The request that last showed the condition, for the message's details. */
export const requestSampleSchema = z.object({
  method: z.string().max(MAX_METHOD).optional(),
  path: z.string().max(MAX_PATH).optional(),
  /** What the client got: Nginx's final status, which may be the last attempt's or its own. */
  status: z.number().int().min(100).max(599),
  /** Each attempt's status ($upstream_status), in the order Nginx made them. */
  upstreamStatuses: z.array(z.number().int().min(100).max(599)).max(MAX_ATTEMPTS),
  upstreamAddrs: z.array(z.string().max(MAX_ADDR)).max(MAX_ATTEMPTS),
  /** The pool of each attempt, as the detector attributed it; absent in a sample taken before it was kept. */
  upstreamPools: z.array(poolName).max(MAX_ATTEMPTS).optional(),
});
export type RequestSample = z.output<typeof requestSampleSchema>;

export const conditionViewSchema = z.object({
  /** One incident at a time per key: see incidentKey() in the vocabulary. */
  key: z.string().min(1).max(40),
  kind: z.enum(INCIDENT_KINDS),
  active: z.boolean(),
  level,
  /** When it opened (active) or resolved; 0 if it never opened. */
  since: epochMs,
  /** When this view was taken. */
  at: epochMs,
  /** failover, degraded: the pool that fails. */
  pool: poolName.optional(),
  primaryPool: poolName,
  servingPool: poolName,
  releases: z.object({ blue: z.string().max(MAX_RELEASE).optional(), green: z.string().max(MAX_RELEASE).optional() }),
  /** Failures over the condition's life (failed attempts, failed requests or error requests); the policy reports differences. */
  failures: count,
  /** failover: changes of serving pool over the condition's life, and within FLAP_WINDOW_MS. */
  flips: count.optional(),
  recentFlips: count.optional(),
  /** While recovering: how long the service has been steady. */
  steadyForMs: count.optional(),
  holdMs: count,
  /** failover, degraded: the failing pool's failed share of its last attempts. */
  share: z.object({ failed: count, attempts: count }).optional(),
  /**
   * failover, degraded, while open: the failing pool's attempts and failed
   * attempts since the incident opened. Absent once resolved, and in a view
   * saved before it was kept.
   */
  sinceOpen: z.object({ failed: count, attempts: count }).optional(),
  /** degraded: the replicas that failed since it opened, by address, most recent first. */
  replicas: z.array(z.object({ addr: z.string().max(MAX_ADDR), failures: count })).max(REPLICAS_KEPT).optional(),
  window: windowStatsSchema,
  thresholdPercent: z.number().min(0).max(100),
  lastFailure: requestSampleSchema.optional(),
});
export type ConditionView = z.output<typeof conditionViewSchema>;

type PoolName = z.output<typeof poolName>;
const POOL_NAMES: readonly string[] = poolName.options;
const isPool = (pool: string): pool is PoolName => POOL_NAMES.includes(pool);

/**
 * The fields of `record` a message shows, cut to the schema's bounds;
 * `attempts`, the record's attributed attempts, say whose each status was.
 */
export function sampleOf(record: AccessRecord, attempts?: readonly Attempt[]): RequestSample {
  const sample: RequestSample = {
    status: record.status,
    upstreamStatuses: record.upstreamStatuses.slice(0, MAX_ATTEMPTS).filter((s) => s >= 100 && s <= 599),
    upstreamAddrs: record.upstreamAddrs.slice(0, MAX_ATTEMPTS).map((a) => a.slice(0, MAX_ADDR)),
  };
  const method = record.method;
  const path = record.path;
  if (method !== undefined) sample.method = method.slice(0, MAX_METHOD);
  if (path !== undefined) sample.path = path.slice(0, MAX_PATH);
  // One pool per status kept, or none: a list that does not line up with the statuses would blame the wrong pool.
  const pools = attempts?.slice(0, MAX_ATTEMPTS).map((a) => a.pool);
  if (pools !== undefined && pools.length === sample.upstreamStatuses.length && pools.every(isPool)) sample.upstreamPools = pools;
  return sample;
}

/**
 * What every view of one detector.conditions() call shares, read once for
 * all of them: the pools, their releases and the request window.
 */
export interface ViewContext {
  now: number;
  primaryPool: ConditionView['primaryPool'];
  servingPool: ConditionView['servingPool'];
  releases: ConditionView['releases'];
  window: WindowStats;
  thresholdPercent: number;
}

/** What a condition tells about itself, whatever its kind. */
export interface ViewSource {
  readonly active: boolean;
  readonly since: number;
  readonly failures: number;
}

/**
 * The fields every view has; each condition adds its own after them. Each
 * view gets its own copies of the shared objects, since a view outlives the
 * call (it travels in notifications and the saved state).
 */
export function baseView(
  ctx: ViewContext,
  key: string,
  kind: ConditionView['kind'],
  c: ViewSource,
  level: ConditionView['level'],
  holdMs: number,
  steadyForMs: number | undefined,
  lastFailure: RequestSample | undefined,
): ConditionView {
  const view: ConditionView = {
    key,
    kind,
    active: c.active,
    level,
    since: c.since,
    at: ctx.now,
    primaryPool: ctx.primaryPool,
    servingPool: ctx.servingPool,
    releases: { ...ctx.releases },
    failures: c.failures,
    holdMs,
    window: copyOf(ctx.window),
    thresholdPercent: ctx.thresholdPercent,
  };
  if (steadyForMs !== undefined) view.steadyForMs = steadyForMs;
  if (lastFailure !== undefined) view.lastFailure = lastFailure;
  return view;
}

function copyOf(window: WindowStats): WindowStats {
  const top = window.topFailingUpstream;
  return top === undefined ? { ...window } : { ...window, topFailingUpstream: { ...top } };
}

/** The window as views show it: the top upstream's address cut to the schema's bound. */
export function boundedWindow(window: WindowStats): WindowStats {
  const top = window.topFailingUpstream;
  if (top !== undefined) window.topFailingUpstream = { addr: top.addr.slice(0, MAX_ADDR), failures: top.failures };
  return window;
}

/** A release id as the schema keeps it. */
export const boundedRelease = (release: string): string => release.slice(0, MAX_RELEASE);
