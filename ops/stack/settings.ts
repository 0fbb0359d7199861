// The stack's settings as the host-side tools (release, drill, benchmarks,
// end-to-end tests) read them: the Makefile's order, and the Makefile's
// defaults, which live in .env.example and nowhere else.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';
import { envInt, parseConfig, poolName, type ConfigResult, type Env } from '../../common/config.js';
import { watcherConfigSchema } from '../../watcher/config.js';
import { portsProblem } from './checks.js';
import { envSyntaxProblems } from './envSyntax.js';

export type PoolName = z.output<typeof poolName>;

/** The repository root: the nearest directory above this file (source or dist/) holding .env.example. */
export const REPO_ROOT = findRoot(import.meta.dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.env.example')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no .env.example above ${from}`);
  }
}

const port = envInt(1, 65_535);
const PORT_RANGE = 'expected a port (8081) or a range of ports (8181-8183)';
// A pool's direct ports: Compose gives each replica one port of the range.
const portRange = z
  .string()
  .regex(/^\d{1,5}(-\d{1,5})?$/, { message: PORT_RANGE })
  .transform((v) => {
    const [first, last = first] = v.split('-').map(Number) as [number, number?];
    return { first, last };
  })
  .refine((r) => r.first >= 1 && r.last <= 65_535 && r.first <= r.last, { message: PORT_RANGE });
export type PortRange = z.output<typeof portRange>;
export const MAX_REPLICAS = 20;
const percent = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'expected a percentage from 0 to 100' })
  .transform(Number)
  .pipe(z.number().max(100, { message: 'expected a percentage from 0 to 100' }));
// What `docker image inspect` and Compose accept, without whitespace or shell metacharacters.
export const imageRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._\/:@-]{0,254}$/i, { message: 'expected an image reference like name:tag or registry/name@sha256:…' });

const stackSettingsSchema = z.object({
  ENV_FILE: z.string(),
  NGINX_PORT: port,
  BLUE_PORT: portRange,
  GREEN_PORT: portRange,
  BLUE_REPLICAS: envInt(1, MAX_REPLICAS),
  GREEN_REPLICAS: envInt(1, MAX_REPLICAS),
  WATCHER_HOST_PORT: port,
  PROMETHEUS_PORT: port,
  ACTIVE_POOL: poolName,
  // The control volume's directory on the host, relative to the repository (as Compose reads it).
  POOL_CONTROL_DIR: z.string().min(1),
  CHAOS_TOKEN: z.string().optional(),
  NODE_IMAGE: imageRef,
  IMAGE_TAG: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: 'expected a Docker tag' }),
  // Empty: the image `make up` builds (bluegreen-node:$IMAGE_TAG), as in docker-compose.yml.
  BLUE_IMAGE: imageRef.optional(),
  GREEN_IMAGE: imageRef.optional(),
  RELEASE_ID_BLUE: z.string().min(1),
  RELEASE_ID_GREEN: z.string().min(1),
  // The release gates (docs/releases.md).
  ANALYSIS_SEC: envInt(1, 3600),
  ANALYSIS_RPS: envInt(1, 1000),
  ANALYSIS_P99_MS: envInt(1, 60_000),
  ANALYSIS_MAX_FAILED_PCT: percent,
  ANALYSIS_MAX_FAILED_CHECKS: envInt(1, 100),
  // The watcher's own rules, so the drill reads them exactly as it does.
  ALERT_COOLDOWN_SEC: watcherConfigSchema.shape.ALERT_COOLDOWN_SEC,
  RECOVERY_HOLD_SEC: watcherConfigSchema.shape.RECOVERY_HOLD_SEC,
  MAINTENANCE_MODE: watcherConfigSchema.shape.MAINTENANCE_MODE,
  // The bounds `make up` and `make scale` check against the replica counts, and `make status` shows (checks.ts).
  NGINX_CONNECT_TIMEOUT_MS: envInt(1, 600_000),
  NGINX_READ_TIMEOUT_MS: envInt(1, 600_000),
  NGINX_SEND_TIMEOUT_MS: envInt(1, 600_000),
  NGINX_RETRY_TIMEOUT_MS: envInt(1, 600_000),
}).superRefine((s, ctx) => {
  for (const pool of ['BLUE', 'GREEN'] as const) {
    const range = s[`${pool}_PORT`];
    const replicas = s[`${pool}_REPLICAS`];
    // zod runs this even when a field failed its own check, reported already.
    if (typeof range !== 'object' || range.first > range.last || !(replicas >= 1 && replicas <= MAX_REPLICAS)) continue;
    const problem = portsProblem(pool, replicas, range);
    if (problem) ctx.addIssue({ code: 'custom', path: [`${pool}_PORT`], message: problem });
  }
});

export type StackSettings = z.output<typeof stackSettingsSchema>;

const SECRETS = ['CHAOS_TOKEN'];

/**
 * One order for every host-side tool: the command line (KEY=VALUE words of
 * the CLI; make puts its own in the environment) wins, then a non-empty
 * environment variable, then ENV_FILE (default .env), then .env.example. A
 * missing env file is fine: `make up` creates it from .env.example. An empty
 * value counts as unset.
 */
export function loadStackSettings(env: Env = process.env, commandLine: Env = {}): ConfigResult<StackSettings> {
  const envFile = commandLine.ENV_FILE?.trim() || env.ENV_FILE?.trim() || '.env';
  const layers: Env[] = [];
  for (const file of [path.join(REPO_ROOT, '.env.example'), envFile]) {
    try {
      const text = readFileSync(file, 'utf8');
      const syntax = envSyntaxProblems(text, file);
      if (syntax.length > 0) return { ok: false, problems: syntax };
      layers.push(dotenv.parse(text));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || file !== envFile) {
        return { ok: false, problems: [`ENV_FILE: cannot read ${file}: ${(err as Error).message}`] };
      }
    }
  }
  layers.push(env, commandLine);
  const merged: Env = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) if (value !== undefined && value.trim() !== '') merged[key] = value;
  }
  merged.ENV_FILE = envFile;
  return parseConfig(stackSettingsSchema, merged, SECRETS);
}

/** Settings or exit 2 with one line per problem (a usage error, like a bad option). */
export function stackSettingsOrExit(program: string, commandLine: Env = {}): StackSettings {
  const result = loadStackSettings(process.env, commandLine);
  if (result.ok) return result.config;
  for (const problem of result.problems) console.error(`${program}: config error: ${problem}`);
  process.exit(2);
}

export const otherPool = (pool: PoolName): PoolName => (pool === 'blue' ? 'green' : 'blue');

/** The control volume's file that says which pool serves (nginx/njs/serving-pool.js reads it). */
export const servingPoolFile = (s: Pick<StackSettings, 'POOL_CONTROL_DIR'>): string =>
  path.resolve(REPO_ROOT, s.POOL_CONTROL_DIR, 'serving-pool');

/**
 * The pool serving now as the switch left it: the control volume's file once
 * a switch wrote it, else ACTIVE_POOL (the first start), as Nginx starts.
 */
export function servingPool(s: Pick<StackSettings, 'POOL_CONTROL_DIR' | 'ACTIVE_POOL'>): PoolName {
  let raw: string;
  try {
    raw = readFileSync(servingPoolFile(s), 'utf8').trim();
  } catch {
    return s.ACTIVE_POOL;
  }
  const pool = poolName.safeParse(raw);
  return pool.success ? pool.data : s.ACTIVE_POOL;
}
/** The first of a pool's direct ports: its only one with one replica. */
export const poolPort = (s: StackSettings, pool: PoolName): number => (pool === 'blue' ? s.BLUE_PORT : s.GREEN_PORT).first;
export const publicOrigin = (s: StackSettings): string => `http://127.0.0.1:${s.NGINX_PORT}`;
export const poolOrigin = (s: StackSettings, pool: PoolName): string => `http://127.0.0.1:${poolPort(s, pool)}`;
/** The image a pool runs: its *_IMAGE setting, else the one `make up` builds. */
export const poolImage = (s: StackSettings, pool: PoolName): string =>
  (pool === 'blue' ? s.BLUE_IMAGE : s.GREEN_IMAGE) ?? `bluegreen-node:${s.IMAGE_TAG}`;
export const poolRelease = (s: StackSettings, pool: PoolName): string =>
  pool === 'blue' ? s.RELEASE_ID_BLUE : s.RELEASE_ID_GREEN;
/** The .env keys of a pool's image and release id. */
export const poolKeys = (pool: PoolName) =>
  ({ image: `${pool.toUpperCase()}_IMAGE`, release: `RELEASE_ID_${pool.toUpperCase()}` }) as const;
