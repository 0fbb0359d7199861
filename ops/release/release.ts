// `make release` and `make rollback`: the workflow. Each step is in steps.ts,
// each gate in analysis.ts; this file only orders them and decides what a
// failure at each point must undo.
//   release:  idle pool ← new version, healthy → pre-promotion analysis →
//             switch → post-promotion analysis → promoted, or rolled back
//   rollback: switch to the other pool, which runs the previous release
import { otherPool, poolImage, poolRelease, type PoolName } from '../stack/index.js';
import { runPostAnalysis, runPreAnalysis, type AnalysisSettings } from './analysis.js';
import {
  buildImage,
  deploy,
  ensureImage,
  primaryPool,
  ready,
  record,
  Refusal,
  requireStack,
  showLogs,
  switchTo,
  type Context,
  type Version,
} from './steps.js';

export interface ReleaseRequest {
  release: string;
  image?: string;
  /** If given, must be the idle pool: a guard against releasing to the wrong one. */
  pool?: PoolName;
}

export interface ReleaseFigures {
  outcome: 'promoted' | 'blocked' | 'rolled_back' | 'interrupted';
  reason?: string;
  pool: PoolName;
  fromPool: PoolName;
  release: string;
  fromRelease: string;
  deployMs?: number;
  pre?: { requests: number; p50Ms: number; p99Ms: number };
  switchMs?: number;
  /** Automatic rollback: first failure seen → decision → traffic back on the previous pool. */
  rollback?: { detectMs: number; switchMs: number; totalMs: number };
  totalMs: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function release(ctx: Context, req: ReleaseRequest): Promise<ReleaseFigures> {
  const { s } = ctx;
  const started = Date.now();
  await requireStack(s);
  const serving = await primaryPool(ctx);
  const idle = otherPool(serving);
  if (req.pool !== undefined && req.pool !== idle) {
    throw new Refusal(`${req.pool} is the serving pool: a release goes to the idle pool, ${idle}`);
  }
  if (!(await ready(s, serving))) throw new Refusal(`the serving pool ${serving} is not ready itself: fix it (or make rollback) before releasing`);
  const fromRelease = poolRelease(s, serving);
  if (req.release === fromRelease) throw new Refusal(`release ${req.release} is already serving on ${serving}`);
  const previous: Version = { image: poolImage(s, idle), release: poolRelease(s, idle) };
  const image = req.image ?? (await buildImage(ctx, req.release));
  if (req.image !== undefined) await ensureImage(ctx, req.image);

  const base = { pool: idle, fromPool: serving, release: req.release, fromRelease } as const;
  const figures: ReleaseFigures = { outcome: 'blocked', ...base, totalMs: 0 };
  ctx.log(`release ${req.release}: to the idle pool ${idle} (was ${previous.release}); ${serving} keeps serving ${fromRelease}`);
  await record(ctx, { action: 'release', outcome: 'started', ...base, reason: `image ${image}` });

  const finish = async (outcome: ReleaseFigures['outcome'], reason?: string): Promise<ReleaseFigures> => {
    figures.outcome = outcome;
    if (reason !== undefined) figures.reason = reason;
    figures.totalMs = Date.now() - started;
    await record(ctx, { action: 'release', outcome, ...base, ...(reason === undefined ? {} : { reason }), durationMs: figures.totalMs });
    return figures;
  };
  /** A failed release leaves the idle pool as it was, so the backup is again a build that worked. */
  const restoreIdle = async () => {
    await showLogs(ctx, idle);
    ctx.log(`restoring ${idle} to ${previous.release} (${previous.image}), so the backup is a known-good build`);
    try {
      await deploy(ctx, idle, previous);
    } catch (err) {
      ctx.log(`WARNING: ${(err as Error).message}; the backup pool needs attention`);
    }
  };
  const analysis = (label: string): AnalysisSettings => ({
    seconds: s.ANALYSIS_SEC,
    rps: s.ANALYSIS_RPS,
    signal: ctx.signal,
    progress: (line) => ctx.log(`${label}: ${line}`),
  });
  const interrupted = () => ctx.signal.aborted;

  // 1-2: the idle pool gets the new version; the serving pool is never touched.
  ctx.log(`deploying ${image} as ${req.release} to ${idle}, waiting until it is healthy`);
  const deployStart = Date.now();
  try {
    await deploy(ctx, idle, { image, release: req.release });
  } catch (err) {
    await restoreIdle();
    return finish(interrupted() ? 'interrupted' : 'blocked', (err as Error).message);
  }
  figures.deployMs = Date.now() - deployStart;
  ctx.log(`${idle} is healthy after ${secs(figures.deployMs)}`);
  if (interrupted()) return abortBeforeSwitch();

  // 3: pre-promotion analysis, on the idle pool's own port; no client reaches it yet.
  ctx.log(`pre-promotion analysis: ${s.ANALYSIS_RPS} requests/s to ${idle}'s direct port for ${s.ANALYSIS_SEC} s (p99 ≤ ${s.ANALYSIS_P99_MS} ms)`);
  ctx.onStep?.('pre-promotion');
  const pre = await runPreAnalysis(s, { pool: idle, release: req.release }, analysis('pre-promotion'));
  figures.pre = pre.figures;
  if (interrupted()) return abortBeforeSwitch();
  if (!pre.verdict.ok) {
    ctx.log(`BLOCKED: ${pre.verdict.reason}; traffic stays on ${serving}`);
    await restoreIdle();
    return finish('blocked', `pre-promotion analysis: ${pre.verdict.reason}`);
  }
  ctx.log(`pre-promotion analysis passed: ${pre.figures.requests} requests, p50 ${pre.figures.p50Ms} ms, p99 ${pre.figures.p99Ms} ms`);

  // 4: promotion, the planned switch.
  ctx.log(`promoting: switching traffic ${serving} → ${idle}`);
  const switchStart = Date.now();
  let promotedAt: number;
  try {
    promotedAt = await switchTo(ctx, idle, `promotion of release ${req.release}`);
  } catch (err) {
    await restoreIdle();
    return finish('blocked', (err as Error).message);
  }
  figures.switchMs = promotedAt - switchStart;
  ctx.log(`switched in ${secs(figures.switchMs)}; ${idle} serves ${req.release}`);

  // 5: post-promotion analysis; a bad result switches back at once.
  ctx.log(`post-promotion analysis: the watcher's view of ${idle} and ${s.ANALYSIS_RPS} requests/s through Nginx for ${s.ANALYSIS_SEC} s`);
  ctx.onStep?.('post-promotion');
  const post = await runPostAnalysis(s, { pool: idle, release: req.release }, promotedAt, analysis('post-promotion'));
  if (post.verdict.ok && !interrupted()) {
    ctx.log(`PROMOTED: ${req.release} serves on ${idle}; ${serving} keeps ${fromRelease} warm for make rollback`);
    return finish('promoted');
  }
  const reason = post.verdict.ok ? 'interrupted' : post.verdict.reason;
  ctx.log(`${interrupted() ? 'INTERRUPTED' : 'ROLLING BACK'}: ${reason}; switching back to ${serving} (${fromRelease})`);
  const backStart = Date.now();
  let backAt: number;
  try {
    backAt = await switchTo(ctx, serving, `automatic rollback of release ${req.release}: ${reason}`);
  } catch (err) {
    ctx.log(`ERROR: ${(err as Error).message}. Traffic may still be on ${idle}: run make rollback`);
    return finish(interrupted() ? 'interrupted' : 'rolled_back', `${reason}; the switch back failed`);
  }
  const firstFailureAt = post.firstFailureAt ?? backStart;
  figures.rollback = { detectMs: (post.decidedAt ?? backStart) - firstFailureAt, switchMs: backAt - backStart, totalMs: backAt - firstFailureAt };
  ctx.log(
    `traffic is back on ${serving} (${fromRelease}) ${secs(figures.rollback.totalMs)} after the first failure ` +
      `(detected in ${secs(figures.rollback.detectMs)}, switched in ${secs(figures.rollback.switchMs)})`,
  );
  await restoreIdle();
  return finish(interrupted() ? 'interrupted' : 'rolled_back', reason);

  async function abortBeforeSwitch(): Promise<ReleaseFigures> {
    ctx.log(`INTERRUPTED before the switch: traffic stays on ${serving}`);
    await restoreIdle();
    return finish('interrupted', 'interrupted before promotion');
  }
}

export interface RollbackRequest {
  force: boolean;
  reason?: string;
}

export interface RollbackFigures {
  pool: PoolName;
  fromPool: PoolName;
  release: string;
  fromRelease: string;
  switchMs: number;
}

/** Back to the other pool, which runs the previous release: no analysis, one switch. */
export async function rollback(ctx: Context, req: RollbackRequest): Promise<RollbackFigures> {
  const { s } = ctx;
  await requireStack(s);
  const from = await primaryPool(ctx);
  const to = otherPool(from);
  const figures = { pool: to, fromPool: from, release: poolRelease(s, to), fromRelease: poolRelease(s, from), switchMs: 0 };
  if (!req.force && !(await ready(s, to))) {
    await record(ctx, { action: 'rollback', outcome: 'refused', ...strip(figures), reason: `${to} is not ready` });
    throw new Refusal(`${to} (${figures.release}) is not ready (its /readyz failed); refusing to roll back onto it. FORCE=1 overrides.`);
  }
  const reason = req.reason ?? 'manual rollback';
  ctx.log(`rolling back: ${from} (${figures.fromRelease}) → ${to} (${figures.release})`);
  const start = Date.now();
  figures.switchMs = (await switchTo(ctx, to, `rollback: ${reason}`)) - start;
  ctx.log(`rolled back in ${secs(figures.switchMs)}: ${to} serves ${figures.release}`);
  await record(ctx, { action: 'rollback', outcome: 'ok', ...strip(figures), reason, durationMs: figures.switchMs });
  return figures;
}

const strip = ({ switchMs: _ms, ...rest }: RollbackFigures) => rest;
