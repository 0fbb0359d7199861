// The host-side commands behind the Makefile's targets, one function each.
// Each resolves with its exit code; a Refusal (exit 1) or UsageError (exit 2)
// thrown here is printed as one line by main.ts.
import { acquireLock, lockPath, lockRefusal, withLock } from '../release/lock.js';
import { release, rollback } from '../release/release.js';
import { Refusal } from '../release/refusal.js';
import { Interrupted, planSwitch, readiness } from '../release/switch.js';
import { whoAmI, type Context } from '../release/steps.js';
import {
  chaos,
  compose,
  ctl,
  lastLine,
  listReplicas,
  portsProblem,
  publicOrigin,
  retryProblem,
  servingPool,
  setEnvValues,
  showRange,
  timeoutsLine,
  type StackSettings,
} from '../stack/index.js';
import { chaosRequest, releaseRequest, rollbackRequest, scaleRequest, switchRequest, trafficRequest, UsageError, type Args } from './args.js';
import { statusPageScreenshot } from './screenshot.js';
import { traffic } from './traffic.js';

export interface Invocation {
  s: StackSettings;
  args: Args;
  /** Who runs it, for the audit trail (make history). */
  who: string;
}

/** A failed history write is a warning: the drill itself must go on. */
async function audit(s: StackSettings, who: string, args: string[]): Promise<void> {
  const r = await ctl(s.ENV_FILE, ['record', '--who', who, ...args]);
  if (r.code !== 0) console.error(`WARNING: not recorded in the history: ${lastLine(r.output)}`);
}

/** The watcher's ctl, its output ours: history, maintenance, test-alert, stats. */
async function ctlShown(s: StackSettings, args: string[]): Promise<number> {
  return (await ctl(s.ENV_FILE, args, { inherit: true, detached: false })).code;
}

/** Chaos off on both pools, every replica, and recorded: make chaos-stop's, and make screenshot's. */
async function endChaos(s: StackSettings, who: string, reason?: string): Promise<string[]> {
  const bodies: string[] = [];
  for (const pool of ['blue', 'green'] as const) bodies.push(...(await chaos(s, pool, 'stop')));
  await audit(s, who, ['--action', 'chaos_stop', '--outcome', 'ok', ...(reason === undefined ? [] : ['--reason', reason])]);
  return bodies;
}

/** Stops at the first of the up-front checks that fails: exit 2, as a config error. */
function checkCounts(program: string, s: StackSettings, blue: number, green: number): void {
  const problems = [
    portsProblem('BLUE', blue, s.BLUE_PORT) && `BLUE_PORT: ${portsProblem('BLUE', blue, s.BLUE_PORT)} (got "${showRange(s.BLUE_PORT)}")`,
    portsProblem('GREEN', green, s.GREEN_PORT) && `GREEN_PORT: ${portsProblem('GREEN', green, s.GREEN_PORT)} (got "${showRange(s.GREEN_PORT)}")`,
    retryProblem(s, blue, green),
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new UsageError(problems.map((p) => `${program}: config error: ${p}`).join('\n'));
}

export const commands: Record<string, (inv: Invocation, rest: string[]) => Promise<number>> = {
  async up({ s }) {
    checkCounts('up', s, s.BLUE_REPLICAS, s.GREEN_REPLICAS);
    const up = await compose(s.ENV_FILE, ['up', '-d', '--build', '--wait', '--wait-timeout', '180'], { inherit: true, detached: false });
    if (up.code !== 0) return up.code;
    console.log(`Stack is up: http://localhost:${s.NGINX_PORT}/version, serving pool: ${(await versionPool(s)) ?? ''}`);
    // make up-monitoring's Prometheus (Compose profile monitoring).
    if ((process.env.COMPOSE_PROFILES ?? '').split(',').includes('monitoring')) {
      console.log(`Prometheus: http://localhost:${s.PROMETHEUS_PORT} (alerts: /alerts, targets: /targets)`);
    }
    return 0;
  },

  async chaos({ s, args, who }) {
    const req = chaosRequest(args);
    const pool = req.pool ?? servingPool(s);
    const replica = req.replica === undefined ? {} : { replica: req.replica };
    const bodies = await chaos(s, pool, req.mode, { ...replica, rate: req.rate }).catch(refuse('chaos'));
    for (const body of bodies) console.log(body);
    await audit(s, who, ['--action', 'chaos_start', '--outcome', 'ok', '--pool', pool, '--reason', `mode=${req.mode} rate=${req.rate}${req.replica === undefined ? '' : ` replica=${req.replica}`}`]);
    return 0;
  },

  async 'chaos-stop'({ s, who }) {
    for (const body of await endChaos(s, who).catch(refuse('chaos-stop'))) console.log(body);
    return 0;
  },

  async switch({ s, args, who }) {
    const req = switchRequest(args);
    // First Ctrl-C or SIGTERM: undo (the control file back, the marker withdrawn), then leave.
    const interrupt = new AbortController();
    let code = 0;
    process.on('SIGINT', () => ((code = 130), interrupt.abort()));
    process.on('SIGTERM', () => ((code = 143), interrupt.abort()));
    try {
      const done = await withLock(s.ENV_FILE, 'switch', () =>
        planSwitch(s, req.pool, { force: req.force, reason: 'manual switch', who, signal: interrupt.signal }),
      );
      if (!done.ok) throw new Refusal(done.why);
    } catch (err) {
      if (err instanceof Interrupted) return code;
      throw err;
    }
    console.log(`Serving pool: ${(await versionPool(s)) ?? ''}`);
    return 0;
  },

  async scale({ s, args }) {
    const { pool, n } = scaleRequest(args);
    checkCounts('scale', s, pool === 'blue' ? n : s.BLUE_REPLICAS, pool === 'green' ? n : s.GREEN_REPLICAS);
    // Under the release lock, as switches and releases are: a release deploying this pool and a scale never overlap.
    const done = await withLock(s.ENV_FILE, 'scale', async () => {
      const key = `${pool.toUpperCase()}_REPLICAS`;
      setEnvValues(s.ENV_FILE, { [key]: String(n) });
      console.log(`scale: ${key}=${n} saved in ${s.ENV_FILE}`);
      const up = await compose(s.ENV_FILE, ['up', '-d', '--wait', '--wait-timeout', '120', `app_${pool}`], { inherit: true, detached: false });
      if (up.code !== 0) throw new Refusal(`app_${pool} did not reach ${n} healthy replica(s) (docker compose exited ${up.code})`);
      console.log(`scale: app_${pool} runs ${n} replica(s)`);
    });
    if (!done.ok) throw new Refusal(done.why);
    return 0;
  },

  async ready({ s }) {
    const r = await readiness(s, ['blue', 'green']);
    for (const line of r.lines) console.log(line);
    return r.ok ? 0 : 1;
  },

  async status({ s }) {
    await compose(s.ENV_FILE, ['ps', '--all', '--format', 'table {{.Service}}\t{{.Status}}'], { inherit: true, detached: false });
    const row = (...cells: string[]) => {
      const widths = [6, 8, 28, 10, 15];
      return cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i] as number) : c)).join(' ');
    };
    console.log(`\n${row('POOL', 'REPLICA', 'CONTAINER', 'STATE', 'ADDRESS', 'PORT')}`);
    for (const pool of ['blue', 'green'] as const) {
      try {
        for (const r of await listReplicas(s, pool)) {
          console.log(row(pool, String(r.index), r.container, r.state, r.address ?? '-', r.port === undefined ? '-' : String(r.port)));
        }
      } catch (err) {
        console.error(`status: ${(err as Error).message}`);
      }
    }
    console.log(`Serving pool: ${(await versionPool(s)) ?? 'unknown'}`);
    console.log(timeoutsLine(s));
    if ((await ctlShown(s, ['stats'])) !== 0) console.log('Watcher stats unavailable');
    console.log(`Status page: http://localhost:${s.WATCHER_HOST_PORT}/`);
    return 0;
  },

  history: ({ s }) => ctlShown(s, ['history']),

  async maintenance({ s, who }, rest) {
    const [mode] = rest;
    if (rest.length !== 1 || (mode !== 'on' && mode !== 'off')) throw new UsageError('maintenance: expected on or off', true);
    return ctlShown(s, ['maintenance', mode, '--who', who]);
  },

  'test-alert': ({ s, who }) => ctlShown(s, ['test-alert', '--who', who]),

  async version({ s }) {
    const res = await fetch(`${publicOrigin(s)}/version`, { signal: AbortSignal.timeout(5_000) }).catch(refuse('version'));
    const head = [`HTTP/1.1 ${res.status} ${res.statusText}`, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)];
    console.log(`${head.join('\n')}\n\n${await res.text()}`);
    return 0;
  },

  async metrics({ s }) {
    const url = `http://127.0.0.1:${s.WATCHER_HOST_PORT}/metrics`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch(refuse('metrics'));
    if (!res.ok) throw new Refusal(`${url} answered ${res.status}`);
    process.stdout.write(await res.text());
    return 0;
  },

  async traffic({ s, args }) {
    const req = trafficRequest(args);
    return traffic(`${publicOrigin(s)}/version`, req.rps, req.seconds);
  },

  screenshot: ({ s, who }) =>
    statusPageScreenshot(s, {
      async start(pool) {
        await chaos(s, pool, 'error');
        await audit(s, who, ['--action', 'chaos_start', '--outcome', 'ok', '--pool', pool, '--reason', 'mode=error rate=1 (make screenshot)']);
      },
      stop: async () => void (await endChaos(s, who, 'make screenshot')),
    }),

  release: (inv) => releaseCommand(inv, 'release'),
  rollback: (inv) => releaseCommand(inv, 'rollback'),
};

/** A failure to reach something, as a one-line refusal. */
const refuse = (program: string) => (err: unknown): never => {
  throw new Refusal(`${program}: ${(err as Error).message}`);
};

/** The pool that answers a client now: /version's X-App-Pool, or undefined. */
async function versionPool(s: StackSettings): Promise<string | undefined> {
  try {
    const res = await fetch(`${publicOrigin(s)}/version`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.headers.get('x-app-pool') ?? undefined;
  } catch {
    return undefined;
  }
}

// Exit 0: promoted (or rolled back by hand). 1: blocked, rolled back
// automatically, or refused. 2: bad usage or settings. 130: interrupted.
async function releaseCommand({ s, args, who }: Invocation, program: 'release' | 'rollback'): Promise<number> {
  const request = program === 'release' ? releaseRequest(args) : rollbackRequest(args);
  const lock = acquireLock(lockPath(s.ENV_FILE), program);
  if (!lock.ok) throw new Refusal(lockRefusal(lockPath(s.ENV_FILE), lock, Date.now()));
  const started = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  // First Ctrl-C: stop the current step and leave traffic on a pool that was
  // healthy when the release began. A second one: leave at once.
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) {
      console.error(`${program}: interrupted again; leaving now. Check the serving pool with make status.`);
      lock.release();
      process.exit(130);
    }
    console.error(`${program}: interrupted; finishing safely (Ctrl-C again to leave at once)`);
    interrupt.abort();
  });
  process.on('SIGTERM', () => interrupt.abort());
  const ctx: Context = { s, signal: interrupt.signal, who, log };
  try {
    if (program === 'rollback') {
      await rollback(ctx, request as ReturnType<typeof rollbackRequest>);
      return 0;
    }
    const figures = await release(ctx, request as ReturnType<typeof releaseRequest>);
    if (figures.outcome === 'promoted') return 0;
    console.error(`${program}: ${figures.release} ${figures.outcome.replace('_', ' ')}: ${figures.reason ?? ''}`);
    return figures.outcome === 'interrupted' ? 130 : 1;
  } finally {
    lock.release();
  }
}

export { whoAmI };
