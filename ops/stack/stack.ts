// The running Compose stack as the release tool, the drill, the benchmarks and
// the end-to-end tests drive it: starting it when it is down, the Makefile
// targets, chaos on a pool's direct port and the watcher's /stats.
import {
  statsResponseSchema,
  type StatsIncident,
  type StatsPool,
  type StatsRecentAlert,
  type StatsResponse,
} from '../../watcher/statsResponse.js';
import { listReplicas } from './replicas.js';
import { run, type Run } from './run.js';
import { publicOrigin, type PoolName, type StackSettings } from './settings.js';

const PROBE_TIMEOUT_MS = 2_000;

/** True when `url` answers 2xx within the probe timeout; no answer is false, never an error. */
export async function answersOk(url: string): Promise<boolean> {
  const status = await answersStatus(url);
  return status !== undefined && status >= 200 && status < 300;
}

/** The status `url` answers with within `timeoutMs`; undefined when it does not answer. */
export async function answersStatus(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** True when Nginx's own health endpoint answers. */
export const stackAnswers = (s: StackSettings): Promise<boolean> => answersOk(`${publicOrigin(s)}/nginx-health`);

/** Starts the stack with `make up` (its output shown) unless Nginx already answers. */
export async function ensureStack(s: StackSettings): Promise<void> {
  if (await stackAnswers(s)) return;
  console.log(`The stack does not answer on ${publicOrigin(s)}/nginx-health: running make up ENV_FILE=${s.ENV_FILE}`);
  const { code } = await runMake(s, ['up'], { show: true });
  if (code !== 0) throw new Error(`make up failed (exit ${code})`);
  if (!(await stackAnswers(s))) throw new Error(`make up finished but ${publicOrigin(s)}/nginx-health still does not answer`);
}

export type MakeRun = Run;

export interface MakeOptions {
  /** Stream the output as it comes (for `make up`) instead of only returning it. */
  show?: boolean;
  /** Each chunk of output as it arrives, e.g. to act on a progress line. */
  onOutput?: (chunk: string) => void;
  /** Extra environment, e.g. COMPOSE_PROJECT_NAME for a test stack. */
  env?: Record<string, string>;
  /** Kill make (SIGTERM) after this long; resolves with what it wrote. */
  timeoutMs?: number;
}

/**
 * Runs `make -s <args> ENV_FILE=...` in the repository. ACTIVE_POOL is left
 * out of the child's environment: a copy in ours (the drill's, say) would win
 * over ENV_FILE's pool of a first start.
 */
export function runMake(s: Pick<StackSettings, 'ENV_FILE'>, args: string[], opts: MakeOptions = {}): Promise<MakeRun> {
  return run('make', ['-s', ...args, `ENV_FILE=${s.ENV_FILE}`], {
    env: { ...opts.env, ACTIVE_POOL: undefined },
    detached: false,
    ...(opts.show ? { show: 'raw' as const } : {}),
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

export type ChaosMode = 'error' | 'timeout';


export interface ChaosTarget {
  /** One replica by index (`make chaos REPLICA=`); every running replica of the pool when absent. */
  replica?: number;
  /** The share of requests that fail, 0 to 1 (`make chaos RATE=`); 1 when absent. */
  rate?: number;
  /** Extra environment for Compose, e.g. a test stack's COMPOSE_PROJECT_NAME. */
  env?: Record<string, string>;
}

/**
 * POST /chaos/start or /chaos/stop on the direct port of every replica of a
 * pool (or one); resolves once each acknowledged it, with what each
 * answered, by index. A whole pool failing is a failover; one replica failing
 * is a degraded pool. CHAOS_TOKEN goes in a header, never on a command line.
 */
export async function chaos(s: StackSettings, pool: PoolName, action: ChaosMode | 'stop', target: ChaosTarget = {}): Promise<string[]> {
  const path = action === 'stop' ? '/chaos/stop' : `/chaos/start?mode=${action}&rate=${target.rate ?? 1}`;
  const headers: Record<string, string> = s.CHAOS_TOKEN ? { authorization: `Bearer ${s.CHAOS_TOKEN}` } : {};
  // A stopped replica has no port, and nothing to start or stop.
  const replicas = (await listReplicas(s, pool, target.env)).filter(
    (r) => r.port !== undefined && (target.replica === undefined || r.index === target.replica),
  );
  if (replicas.length === 0) throw new Error(`${pool}: no running replica${target.replica === undefined ? '' : ` ${target.replica}`}`);
  return Promise.all(
    replicas.map(async (r) => {
      const res = await fetch(`http://127.0.0.1:${r.port}${path}`, {
        method: 'POST',
        headers,
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 2),
      });
      const body = (await res.text()).trim().slice(0, 200);
      if (res.status !== 200) {
        const hint = res.status === 401 || res.status === 403 ? ' (is CHAOS_TOKEN in ENV_FILE the stack’s?)' : '';
        throw new Error(`${pool} replica ${r.index}: POST ${path} answered ${res.status}${hint}: ${body}`);
      }
      return body;
    }),
  );
}

export type RecentAlert = StatsRecentAlert;
export type Incident = StatsIncident;
export type PoolStats = StatsPool;
export type WatcherStats = StatsResponse;

/** The watcher's /stats, parsed with the schema its clients share (watcher/statsResponse.ts). */
export async function watcherStats(s: Pick<StackSettings, 'WATCHER_HOST_PORT'>, timeoutMs = PROBE_TIMEOUT_MS): Promise<WatcherStats> {
  const url = `http://127.0.0.1:${s.WATCHER_HOST_PORT}/stats`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const parsed = statsResponseSchema.safeParse(await res.json());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${url}: unexpected answer (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`);
  }
  return parsed.data;
}

/** The watcher's recent alerts, oldest first. */
export async function recentAlerts(s: StackSettings): Promise<RecentAlert[]> {
  return (await watcherStats(s)).recentAlerts;
}

/** The watcher's effective maintenance mode, as its /stats reports it; undefined when it does not answer. */
export async function maintenanceOn(s: StackSettings): Promise<boolean | undefined> {
  try {
    return (await watcherStats(s)).maintenance;
  } catch {
    return undefined;
  }
}
