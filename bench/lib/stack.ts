// The running Compose stack as the drill and the proxy benchmark see it: its
// settings, starting it when it is down, chaos on a pool's direct port, the
// watcher's /stats and the Makefile targets.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import { z } from 'zod';
import { envInt, parseConfig, poolName, type ConfigResult, type Env } from '../../common/config.js';
import { watcherConfigSchema } from '../../watcher/config.js';
import { alertKind, decision, messageKind, outcome } from '../../watcher/vocabulary.js';

export type PoolName = z.output<typeof poolName>;

const port = envInt(1, 65_535);
const stackSettingsSchema = z.object({
  ENV_FILE: z.string().default('.env'),
  NGINX_PORT: port.default(8080),
  BLUE_PORT: port.default(8081),
  GREEN_PORT: port.default(8082),
  WATCHER_HOST_PORT: port.default(9100),
  ACTIVE_POOL: poolName.default('blue'),
  CHAOS_TOKEN: z.string().optional(),
  // The watcher's own rules, so the drill reads them exactly as it does.
  ALERT_COOLDOWN_SEC: watcherConfigSchema.shape.ALERT_COOLDOWN_SEC,
  RECOVERY_HOLD_SEC: watcherConfigSchema.shape.RECOVERY_HOLD_SEC,
  MAINTENANCE_MODE: watcherConfigSchema.shape.MAINTENANCE_MODE,
});

export type StackSettings = z.output<typeof stackSettingsSchema>;

const SECRETS = ['CHAOS_TOKEN'];

/**
 * The Makefile's order: a non-empty environment variable wins, then
 * ENV_FILE (default .env), then the default. A missing env file is fine:
 * `make up` creates it from .env.example.
 */
export function loadStackSettings(env: Env = process.env): ConfigResult<StackSettings> {
  const envFile = env.ENV_FILE?.trim() || '.env';
  let fromFile: Env = {};
  try {
    fromFile = dotenv.parse(readFileSync(envFile));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { ok: false, problems: [`ENV_FILE: cannot read ${envFile}: ${(err as Error).message}`] };
    }
  }
  const merged: Env = { ...fromFile, ENV_FILE: envFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') merged[key] = value;
  return parseConfig(stackSettingsSchema, merged, SECRETS);
}

/** Settings or exit 2 with one line per problem (a usage error, like a bad option). */
export function stackSettingsOrExit(program: string): StackSettings {
  const result = loadStackSettings();
  if (result.ok) return result.config;
  for (const problem of result.problems) console.error(`${program}: config error: ${problem}`);
  process.exit(2);
}

export const otherPool = (pool: PoolName): PoolName => (pool === 'blue' ? 'green' : 'blue');
export const poolPort = (s: StackSettings, pool: PoolName): number => (pool === 'blue' ? s.BLUE_PORT : s.GREEN_PORT);
export const publicOrigin = (s: StackSettings): string => `http://127.0.0.1:${s.NGINX_PORT}`;
export const poolOrigin = (s: StackSettings, pool: PoolName): string => `http://127.0.0.1:${poolPort(s, pool)}`;

const PROBE_TIMEOUT_MS = 2_000;

/** True when Nginx's own health endpoint answers 200. */
export async function stackAnswers(s: StackSettings): Promise<boolean> {
  try {
    const res = await fetch(`${publicOrigin(s)}/nginx-health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts the stack with `make up` (its output shown) unless Nginx already answers. */
export async function ensureStack(s: StackSettings): Promise<void> {
  if (await stackAnswers(s)) return;
  console.log(`The stack does not answer on ${publicOrigin(s)}/nginx-health: running make up ENV_FILE=${s.ENV_FILE}`);
  const { code } = await runMake(s, ['up'], { show: true });
  if (code !== 0) throw new Error(`make up failed (exit ${code})`);
  if (!(await stackAnswers(s))) throw new Error(`make up finished but ${publicOrigin(s)}/nginx-health still does not answer`);
}

export interface MakeRun {
  code: number;
  output: string;
  ms: number;
}

/**
 * Runs `make -s <args> ENV_FILE=...` in the repository. `show` streams its
 * output as it comes (for `make up`); otherwise it is returned. ACTIVE_POOL
 * is left out of the child's environment: `make switch` rewrites it in
 * ENV_FILE, and a stale copy from our environment would win over the file.
 */
export function runMake(s: StackSettings, args: string[], opts: { show?: boolean } = {}): Promise<MakeRun> {
  const { ACTIVE_POOL: _stale, ...env } = process.env;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('make', ['-s', ...args, `ENV_FILE=${s.ENV_FILE}`], {
      env,
      stdio: ['ignore', opts.show ? 'inherit' : 'pipe', opts.show ? 'inherit' : 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolve({ code: 127, output: `${output}${err.message}\n`, ms: Date.now() - started }));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), output, ms: Date.now() - started }),
    );
  });
}

export type ChaosMode = 'error' | 'timeout';

/** POST /chaos/start or /chaos/stop on a pool's direct port; resolves once the pool acknowledged it. */
export async function chaos(s: StackSettings, pool: PoolName, action: ChaosMode | 'stop'): Promise<void> {
  const path = action === 'stop' ? '/chaos/stop' : `/chaos/start?mode=${action}&rate=1`;
  const headers: Record<string, string> = s.CHAOS_TOKEN ? { authorization: `Bearer ${s.CHAOS_TOKEN}` } : {};
  const res = await fetch(`${poolOrigin(s, pool)}${path}`, {
    method: 'POST',
    headers,
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 2),
  });
  const body = (await res.text()).trim().slice(0, 200);
  if (res.status !== 200) {
    const hint = res.status === 401 || res.status === 403 ? ' (is CHAOS_TOKEN in ENV_FILE the stack’s?)' : '';
    throw new Error(`${pool}: POST ${path} answered ${res.status}${hint}: ${body}`);
  }
}

// The watcher's words come from its vocabulary, so a word it adds or renames
// is a compile error or a clear "unexpected answer" here, not a silent miss.
const recentAlertSchema = z.object({
  kind: alertKind,
  message: messageKind,
  text: z.string(),
  raisedAt: z.string(),
  decision,
  outcome: outcome.optional(),
  settledAt: z.string().optional(),
});
// Of each incident, what the drill needs to know what Slack last heard.
const incidentSchema = z.object({
  key: z.string(),
  /** Slack's last word about it; absent until a message was sent. */
  told: z.object({ active: z.boolean() }).optional(),
  /** A change the cooldown is holding back (or maintenance suppressing), once reported. */
  reported: z.object({ active: z.boolean() }).optional(),
});
const statsSchema = z.object({
  maintenance: z.boolean(),
  recentAlerts: z.array(recentAlertSchema),
  incidents: z.array(incidentSchema),
});

export type RecentAlert = z.output<typeof recentAlertSchema>;
export type Incident = z.output<typeof incidentSchema>;
export type WatcherStats = z.output<typeof statsSchema>;

/** The part of the watcher's /stats the drill reads. */
export async function watcherStats(s: StackSettings): Promise<WatcherStats> {
  const url = `http://127.0.0.1:${s.WATCHER_HOST_PORT}/stats`;
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const parsed = statsSchema.safeParse(await res.json());
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
