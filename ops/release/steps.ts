// The release tool's actions on the stack, each one step an operator could
// also run by hand: check the stack, read the primary, get an image, deploy a
// pool, switch, record in the audit trail.
import { userInfo, hostname } from 'node:os';
import { poolName } from '../../common/config.js';
import {
  answersOk,
  compose,
  ctl,
  lastLine,
  run,
  setEnvValues,
  poolKeys,
  replicaOrigins,
  stackAnswers,
  watcherStats,
  type PoolName,
  type StackSettings,
} from '../stack/index.js';
import { Refusal } from './refusal.js';
import { planSwitch } from './switch.js';

export { Refusal } from './refusal.js';

export interface Context {
  s: StackSettings;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
  who: string;
  log(line: string): void;
  /** Called as each analysis begins: where a drill or a test injects its fault. */
  onStep?(step: 'pre-promotion' | 'post-promotion'): void;
}

/** Who is at the keyboard, for the audit trail: the sudo user if any, and the host. */
export function whoAmI(): string {
  // A caller that knows better (a wrapper, a test) says so.
  if (process.env.AUDIT_WHO?.trim()) return process.env.AUDIT_WHO.trim().replace(/[^\x21-\x7e]/g, '?').slice(0, 100);
  let user = process.env.SUDO_USER || process.env.USER || '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return `${user}@${hostname()}`.replace(/[^\x21-\x7e]/g, '?').slice(0, 100);
}

export async function requireStack(s: StackSettings): Promise<void> {
  if (!(await stackAnswers(s))) {
    throw new Refusal(`the stack is not running (http://127.0.0.1:${s.NGINX_PORT}/nginx-health does not answer): start it with make up`);
  }
  try {
    await watcherStats(s);
  } catch (err) {
    throw new Refusal(`the alert watcher does not answer (${(err as Error).message}); a release needs it to judge the new pool`);
  }
}

/** The primary pool Nginx is configured with now (it publishes it on the log volume), not what .env says. */
export async function primaryPool(ctx: Context): Promise<PoolName> {
  const r = await compose(ctx.s.ENV_FILE, ['exec', '-T', 'nginx', 'cat', '/var/log/bluegreen/active-pool']);
  const pool = poolName.safeParse(r.output.trim());
  if (r.code !== 0 || !pool.success) throw new Refusal(`cannot read Nginx's primary pool: ${lastLine(r.output)}`);
  return pool.data;
}

/** Every replica of the pool answers /readyz on its direct port. */
export async function ready(s: StackSettings, pool: PoolName): Promise<boolean> {
  const origins = await replicaOrigins(s, pool).catch(() => []);
  return origins.length > 0 && (await Promise.all(origins.map((o) => answersOk(`${o}/readyz`)))).every(Boolean);
}

/** An image given by reference: present locally, or pulled. */
export async function ensureImage(ctx: Context, ref: string): Promise<void> {
  if ((await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref])).code === 0) return;
  ctx.log(`image ${ref} is not here: pulling it`);
  const pull = await run('docker', ['pull', ref], { show: true });
  if (pull.code !== 0) throw new Refusal(`image ${ref} does not exist here and could not be pulled: ${lastLine(pull.output)}`);
}

/**
 * The working tree built into bluegreen-node:<release>: the image `make up` builds, under the release's
 * tag. Built by Compose as `make up` builds it, so it shares that build's cache (a plain `docker build`
 * may use the other builder and start from nothing).
 */
export async function buildImage(ctx: Context, release: string): Promise<string> {
  const ref = `bluegreen-node:${release}`;
  ctx.log(`building ${ref} from the working tree`);
  const build = await compose(ctx.s.ENV_FILE, ['build', 'alert_watcher'], { show: true, env: { IMAGE_TAG: release } });
  if (build.code !== 0) throw new Refusal(`the image build failed: ${lastLine(build.output)}`);
  return ref;
}

export interface Version {
  image: string;
  release: string;
}

/**
 * (Re)creates one pool's container with `version` and waits until Docker
 * reports it healthy. The env file is written first, so what it says is what
 * runs; the other services are not touched (--no-deps).
 */
export async function deploy(ctx: Context, pool: PoolName, version: Version, waitSec = 120): Promise<void> {
  const keys = poolKeys(pool);
  setEnvValues(ctx.s.ENV_FILE, { [keys.image]: version.image, [keys.release]: version.release });
  const up = await compose(
    ctx.s.ENV_FILE,
    ['up', '-d', '--no-deps', '--wait', '--wait-timeout', String(waitSec), `app_${pool}`],
    { show: true },
  );
  if (up.code !== 0) throw new Refusal(`app_${pool} did not become healthy with ${version.image} (${version.release}): ${lastLine(up.output)}`);
}

/**
 * The planned switch of `make switch` (switch.ts), under the lock the release
 * holds: readiness was checked from here just before, so no second check.
 * Resolves with when Nginx served the new pool (epoch ms): traffic moved then,
 * before the bookkeeping.
 */
export async function switchTo(ctx: Context, pool: PoolName, reason: string): Promise<number> {
  const indent = (line: string) => process.stdout.write(`      ${line}\n`);
  try {
    return (await planSwitch(ctx.s, pool, { force: true, reason, who: ctx.who, say: indent, warn: indent })).servedAt;
  } catch (err) {
    if (err instanceof Refusal) throw new Refusal(`the switch to ${pool} failed: ${err.message}`);
    throw err;
  }
}

export interface Entry {
  action: 'release' | 'rollback';
  outcome: string;
  pool?: PoolName;
  fromPool?: PoolName;
  release?: string;
  fromRelease?: string;
  reason?: string;
  durationMs?: number;
}

/**
 * Appends to the audit trail (and, for releases and rollbacks, tells Slack
 * through the watcher). A failure to record is a warning: the release itself
 * must not stop for its paperwork.
 */
export async function record(ctx: Context, entry: Entry): Promise<void> {
  const args = ['record', '--who', ctx.who];
  for (const [key, value] of Object.entries(entry)) {
    if (value !== undefined) args.push(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(value));
  }
  const r = await ctl(ctx.s.ENV_FILE, args);
  if (r.code !== 0) ctx.log(`WARNING: could not record "${entry.action} ${entry.outcome}" in the history: ${lastLine(r.output)}`);
}

/** The last lines a failed pool logged, shown before it is replaced, so the evidence is not lost with it. */
export async function showLogs(ctx: Context, pool: PoolName): Promise<void> {
  ctx.log(`last log lines of app_${pool}:`);
  await compose(ctx.s.ENV_FILE, ['logs', '--no-color', '--tail', '15', `app_${pool}`], { show: true });
}
