// The drill's release phases, through the release tool's own functions
// (ops/release) under the drill's steady load: a good release to the idle
// pool, a bad one (error chaos on it once promoted) that the tool must roll
// back, then a rollback to the starting pool. Both releases reuse the image
// the active pool runs, so nothing is built. Every release and rollback
// rewrites the env file (a pool's image and release id), so each
// step reads the settings afresh; restorePools() puts both pools back on what
// they ran before the drill, whatever happened.
import { release, rollback } from '../../ops/release/release.js';
import { deploy, primaryPool, whoAmI, type Context, type Version } from '../../ops/release/steps.js';
import {
  chaos,
  loadStackSettings,
  otherPool,
  poolImage,
  replicaOrigins,
  poolRelease,
  type PoolName,
  type StackSettings,
} from '../../ops/stack/index.js';
import type { PhaseRecord } from './records.js';
import { alertsSince, log, underLoad, type DrillContext } from './phases.js';

// deploy()'s own bound on a pool becoming healthy (compose --wait-timeout).
const DEPLOY_WAIT_MS = 120_000;
const ROLLBACK_REASON = 'drill: back to the starting pool';

/** The image and release each pool ran when the drill began: what clean-up restores. */
export type StartingVersions = Record<PoolName, Version>;

export function startingVersions(s: StackSettings): StartingVersions {
  const version = (pool: PoolName): Version => ({ image: poolImage(s, pool), release: poolRelease(s, pool) });
  return { blue: version('blue'), green: version('green') };
}

/** The drill's release ids, e.g. drill-20261122010000-ok: within the release id rule (letters, digits, . _ -, ≤ 64). */
export function drillReleaseIds(at: Date): { good: string; bad: string } {
  const stamp = at.toISOString().replace(/\D/g, '').slice(0, 14);
  return { good: `drill-${stamp}-ok`, bad: `drill-${stamp}-bad` };
}

/** The settings as the env file says now. */
function currentSettings(): StackSettings {
  const loaded = loadStackSettings();
  if (!loaded.ok) throw new Error(`the settings no longer load: ${loaded.problems.join('; ')}`);
  return loaded.config;
}

function releaseContext(signal: AbortSignal, onStep?: Context['onStep']): Context {
  return { s: currentSettings(), signal, who: whoAmI(), log: (line) => log(`| ${line}`), onStep };
}

/** Up to two deploys (the new version, and the restore of a failed one) and two analyses. */
const releaseWaitsMs = (s: StackSettings) => 2 * DEPLOY_WAIT_MS + 2 * s.ANALYSIS_SEC * 1000;

/** The release id every replica of a pool answers /version as on its own port; undefined when one does not answer 200 or they differ. */
async function releaseOn(s: StackSettings, pool: PoolName): Promise<string | undefined> {
  const one = async (origin: string): Promise<string | undefined> => {
    try {
      const res = await fetch(`${origin}/version`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.ok ? (res.headers.get('x-release-id') ?? undefined) : undefined;
    } catch {
      return undefined;
    }
  };
  const releases = new Set(await Promise.all((await replicaOrigins(s, pool).catch(() => [])).map(one)));
  return releases.size === 1 ? [...releases][0] : undefined;
}

/** A release of the active pool's image to the other pool: promoted, with no failed request and no failover. */
export async function goodRelease(ctx: DrillContext, name: string, id: string, image: string): Promise<PhaseRecord> {
  const active = ctx.active;
  const rctx = releaseContext(ctx.interrupted);
  ctx.state.released = true;
  const { samples, startedAt, result: figures } = await underLoad(
    ctx,
    // The pool guard: if the drill did not find its way back to `active`, the release refuses instead of going there.
    () => release(rctx, { release: id, image, pool: otherPool(active) }),
    releaseWaitsMs(rctx.s),
  );
  return { kind: 'release', expected: 'promoted', name, active, samples, figures, alerts: await alertsSince(ctx, startedAt) };
}

/**
 * A release to the starting pool, idle again after the good release, that
 * fails once promoted (error chaos as its post-promotion analysis begins):
 * the tool must roll it back and restore the pool, Nginx's failover covering
 * the clients meanwhile.
 */
export async function badRelease(ctx: DrillContext, name: string, id: string, image: string): Promise<PhaseRecord> {
  const pool = ctx.active;
  let injected: Promise<void> = Promise.resolve();
  const rctx = releaseContext(ctx.interrupted, (step) => {
    if (step !== 'post-promotion') return;
    injected = chaos(rctx.s, pool, 'error').then(
      () => log(`error chaos on ${pool} acknowledged: the release must roll back`),
      (err: Error) => log(`could not start chaos on ${pool}: ${err.message}`),
    );
  });
  const before = poolRelease(rctx.s, pool);
  ctx.state.released = true;
  const { samples, startedAt, result: figures } = await underLoad(
    ctx,
    async () => {
      try {
        return await release(rctx, { release: id, image, pool });
      } finally {
        // The restore recreated the pool without chaos, unless it failed: then chaos must not outlive the phase.
        await injected;
        await chaos(rctx.s, pool, 'stop').catch((err: Error) => log(`could not stop chaos on ${pool}: ${err.message}`));
      }
    },
    releaseWaitsMs(rctx.s),
  );
  const restored = { before, answered: await releaseOn(rctx.s, pool) };
  log(`${pool} answers as ${restored.answered ?? '(no answer)'}; it ran ${before} before`);
  return { kind: 'release', expected: 'rolled_back', name, active: pool, samples, figures, restored, alerts: await alertsSince(ctx, startedAt) };
}

/** `make rollback` from the good release back to the starting pool, which runs its starting release again. */
export async function rollbackPhase(ctx: DrillContext, name: string): Promise<PhaseRecord> {
  const rctx = releaseContext(ctx.interrupted);
  const { samples, startedAt, result: figures } = await underLoad(ctx, () => rollback(rctx, { force: false, reason: ROLLBACK_REASON }));
  return { kind: 'rollback', name, active: ctx.active, samples, figures, alerts: await alertsSince(ctx, startedAt) };
}

/**
 * Puts both pools back on the versions they ran when the drill began, with
 * `active` serving, from wherever a phase left them: an idle pool is
 * redeployed (a no-op when it already runs that version) before it takes the
 * traffic back through a rollback. Not interruptible: it is what an interrupt
 * leads to.
 */
export async function restorePools(active: PoolName, start: StartingVersions): Promise<void> {
  const other = otherPool(active);
  const fresh = () => releaseContext(new AbortController().signal);
  const runsStart = (pool: PoolName) => {
    const s = currentSettings();
    return poolImage(s, pool) === start[pool].image && poolRelease(s, pool) === start[pool].release;
  };
  const restore = async (pool: PoolName) => {
    log(`${pool} back to ${start[pool].release} (${start[pool].image})`);
    await deploy(fresh(), pool, start[pool]);
  };
  let serving = await primaryPool(fresh());
  if (serving === active && !runsStart(active)) {
    // A drill release serves on the starting pool: the other one, restored, takes over while it is restored.
    await restore(other);
    await rollback(fresh(), { force: false, reason: ROLLBACK_REASON });
    serving = other;
  }
  if (serving !== active) {
    await restore(active);
    await rollback(fresh(), { force: false, reason: ROLLBACK_REASON });
  }
  await restore(other);
}
