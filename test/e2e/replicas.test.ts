// Three replicas per pool on the real Compose stack, under load: one replica
// killed is a degraded pool (no failover, no failed request), every replica
// failing is the failover, `--scale` up and down is followed by Nginx's own
// re-resolution; then `make drill`, unchanged, against the same stack.
//
// The drill part: `make drill` as an operator runs it, with short phases and
// without its release phases (--no-release: release.test.ts runs the same
// `make release` promotions and rollbacks, one replica per pool). Its timing
// bars (first answer within 1 s and so on) are benchmark figures and are not
// asserted here; what must hold is that it runs every phase, sees no failed
// request, fails over and back, gets its alerts delivered, leaves no chaos and
// the original pools and releases behind, and that its exit status agrees with
// the figures it writes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listReplicas, replicaOrigins, type Replica } from '../../ops/stack/index.js';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  RELEASES,
  ROOT,
  docker,
  envFileValue,
  failures,
  getVersion,
  receivedAlerts,
  sleep,
  startLoad,
  startStack,
  waitForAlert,
  waitForServing,
  type Sample,
  type Stack,
} from './support/stack.js';

const execFileAsync = promisify(execFile);
const enabled = requireDockerOrSkip('e2e replicas and drill');

const REPLICAS = 3;
// Open-loop requests per second through Nginx while replicas fail and change.
const LOAD_PER_SECOND = 40;

interface DrillVerdict {
  metric: string;
  value: unknown;
  met: boolean;
}
interface DrillResults {
  passed: boolean;
  phases: { name: string; requests: number; non200: number; alert?: { decision: string; outcome?: string } }[];
  verdicts: DrillVerdict[];
}

// Bars that do not depend on how fast a busy CI machine is.
const FUNCTIONAL = [
  /non-200$/,
  /served by/,
  /alert$/,
  /alerts$/,
  /failover messages/,
  /failover reopened$/,
  /there and back$/,
  /serving at the end$/,
  /serves again$/,
  /outcome$/,
  /flip back$/,
  /restored$/,
  /^drill completed$/,
];

describe.skipIf(!enabled)(`${REPLICAS} replicas per pool, then make drill, on the Compose stack`, () => {
  let stack: Stack;
  let env: Record<string, string>;
  const replicas = (pool: 'blue' | 'green'): Promise<Replica[]> => listReplicas(stack.settings, pool, env);
  const alertTexts = async (since: number) => (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
  const nginxLogsSince = (since: string) => stack.compose('logs', '--no-color', '--since', since, 'nginx');
  /** Requests in the last lines of the access log that some blue replica at `address` answered. */
  const servedBy = async (address: string): Promise<number> =>
    Number(
      (
        await stack.compose(
          'exec', '-T', 'nginx', 'sh', '-c',
          `tail -n 300 /var/log/bluegreen/access.log | grep -c 'upstream_addr="${address}:' || true`,
        )
      ).trim(),
    );
  /** Back to REPLICAS healthy replicas per pool, as the env file says, and blue serving. */
  async function restoreReplicas(): Promise<void> {
    await stack.compose('up', '-d', '--wait', '--wait-timeout', '60', 'app_blue', 'app_green');
    for (const pool of ['blue', 'green'] as const) expect((await replicas(pool)).map((r) => r.state)).toEqual(Array(REPLICAS).fill('healthy'));
    await waitForServing('blue', 15_000);
  }

  beforeAll(async () => {
    // Short release analyses: the gates' logic is the release suite's business.
    // Blue's port range has room for the fourth replica of the scale test.
    stack = await startStack('replicas', {
      ANALYSIS_SEC: '3',
      BLUE_REPLICAS: String(REPLICAS),
      GREEN_REPLICAS: String(REPLICAS),
      BLUE_PORT: `${PORTS.blue + 40}-${PORTS.blue + 43}`,
      GREEN_PORT: `${PORTS.green + 50}-${PORTS.green + 52}`,
    });
    env = stack.composeEnv;
  });

  afterAll(async () => {
    await stack?.down();
  });

  it('lists each pool’s replicas with an address and a direct port each', async () => {
    for (const pool of ['blue', 'green'] as const) {
      const list = await replicas(pool);
      expect(list.map((r) => r.index)).toEqual([1, 2, 3]);
      expect(new Set(list.map((r) => r.address)).size).toBe(REPLICAS);
      expect(new Set(list.map((r) => r.port)).size).toBe(REPLICAS);
      for (const origin of await replicaOrigins(stack.settings, pool, env)) {
        expect((await fetch(`${origin}/version`)).headers.get('x-app-pool'), origin).toBe(pool);
      }
    }
    const status = await stack.make('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^blue\s+2\s+\S+app_blue-2\s+healthy\s+\d+\.\d+\.\d+\.\d+\s+\d+$/m);
    expect(status.stdout).toContain(`Status page: http://localhost:${PORTS.watcher}/`);
  });

  it("the runbook's commands work on these ports and replicas: make version, make ready, make metrics", async () => {
    const version = await stack.make('version');
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(version.stdout).toMatch(/^x-app-pool: blue\r?$/im);
    const ready = await stack.make('ready');
    expect(ready.code, ready.stderr).toBe(0);
    // Every replica of both pools, each on its own port of the range, ready.
    const rows = ready.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    expect(rows.map(([pool, index, , code]) => `${pool} ${index} ${code}`)).toEqual(
      ['blue', 'green'].flatMap((pool) => [1, 2, 3].map((i) => `${pool} ${i} 200`)),
    );
    // Docker picks each replica's port from the range, in no set order, and
    // blue's has a fourth port for the scale test: each in it, none twice.
    const bluePorts = rows.filter(([pool]) => pool === 'blue').map((r) => Number(r[2]!.split(':')[1]));
    expect(new Set(bluePorts).size).toBe(3);
    for (const port of bluePorts) {
      expect(port).toBeGreaterThanOrEqual(PORTS.blue + 40);
      expect(port).toBeLessThanOrEqual(PORTS.blue + 43);
    }
    const metrics = await stack.make('metrics');
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toMatch(/^bluegreen_watcher_/m);
  });

  it('one blue replica killed under load: no failed request, no failover, a degraded-pool message naming its address, then its all-clear', async () => {
    const victim = (await replicas('blue'))[1] as Replica;
    const since = Date.now();
    const load = startLoad(LOAD_PER_SECOND);
    let samples: Sample[] = [];
    try {
      await sleep(1_500);
      await docker('kill', victim.container);
      const alert = await waitForAlert('Degraded pool: blue replica', since, 15_000);
      expect(alert.body.text).toContain(`${victim.address}:`);
      console.log(`[e2e] replicas: degraded-pool message ${alert.receivedAt - since - 1_500} ms after the kill`);
      await sleep(3_000);
    } finally {
      samples = await load.stop();
    }
    expect(failures(samples)).toEqual([]);
    expect(samples.every((s) => s.pool === 'blue')).toBe(true);
    await restoreReplicas();
    // Once the replica is gone from Nginx's view and back, the pool is steady: Slack's last word says so.
    await waitForAlert('Degraded pool resolved', since, 30_000);
    expect((await alertTexts(since)).filter((t) => /Failover|Outage/.test(t))).toEqual([]);
  });

  it('every blue replica failing (make chaos): the failover as with one replica, no failed request; make chaos-stop: recovered', async () => {
    const since = Date.now();
    const load = startLoad(LOAD_PER_SECOND);
    let samples: Sample[] = [];
    try {
      await sleep(1_000);
      expect((await stack.make('chaos')).code).toBe(0);
      await waitForAlert('Failover detected: pool changed blue → green', since, 10_000);
      await sleep(2_000);
      expect((await stack.make('chaos-stop')).code).toBe(0);
      await waitForAlert('Recovered: pool changed green → blue', since, 30_000);
    } finally {
      samples = await load.stop();
    }
    expect(failures(samples)).toEqual([]);
    expect(samples.some((s) => s.pool === 'green')).toBe(true);
  });

  it('every replica of both pools failing: Nginx’s JSON 503 at once, an outage (no failover), resolved once they heal', async () => {
    const since = Date.now();
    // The backup first: while blue still serves, its failing is no change of pool.
    for (const pool of ['green', 'blue'] as const) expect((await stack.make('chaos', `POOL=${pool}`)).code).toBe(0);
    const replies: Sample[] = [];
    for (let i = 0; i < 20; i++) replies.push(await getVersion());
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(503));
    // Six failing servers are tried in milliseconds: the 503 comes at once.
    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThan(1_000);
    await waitForAlert('Outage: no pool could answer', since, 10_000);
    expect((await stack.make('chaos-stop')).code).toBe(0);
    const load = startLoad(LOAD_PER_SECOND);
    try {
      await waitForAlert('Outage resolved', since, 30_000);
    } finally {
      await load.stop();
    }
    // While both pools fail, traffic moving to the backup is part of the outage, never a failover.
    const texts = await alertTexts(since);
    expect(texts.slice(0, texts.findIndex((t) => t.startsWith('Outage resolved'))).filter((t) => t.startsWith('Failover'))).toEqual([]);
  });

  it('scaled to 4 and back to 2 under load: no failed request, and Nginx follows with no reload of ours', async () => {
    const before = new Set((await replicas('blue')).map((r) => r.address));
    const sinceIso = new Date().toISOString();
    const load = startLoad(LOAD_PER_SECOND);
    let samples: Sample[] = [];
    try {
      await sleep(1_000);
      await stack.compose('up', '-d', '--wait', '--wait-timeout', '60', '--scale', 'app_blue=4', 'app_blue');
      const added = (await replicas('blue')).find((r) => !before.has(r.address));
      expect(added?.address).toBeDefined();
      // Nginx asks the resolver again every 2 s (valid=2s): the new replica gets requests soon after.
      const t0 = Date.now();
      while ((await servedBy(added?.address as string)) === 0) {
        if (Date.now() - t0 > 15_000) throw new Error(`the new replica ${added?.address} got no request within 15 s`);
        await sleep(500);
      }
      console.log(`[e2e] replicas: the fourth replica served ${Date.now() - t0} ms after it was healthy`);
      await stack.compose('up', '-d', '--wait', '--wait-timeout', '60', '--scale', 'app_blue=2', 'app_blue');
      expect(await replicas('blue')).toHaveLength(2);
      await sleep(3_000);
    } finally {
      samples = await load.stop();
    }
    expect(failures(samples)).toEqual([]);
    expect(await nginxLogsSince(sinceIso)).not.toMatch(/reconfiguring|signal 1 \(SIGHUP\)/);
    await restoreReplicas();
  });

  it('runs every phase with no failed request, restores the stack and writes figures that match its exit status', { timeout: 420_000 }, async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'bg-drill-')), 'drill.json');
    const since = Date.now();
    let code = 0;
    let output = '';
    try {
      const run = await execFileAsync('make', ['-s', 'drill', `ENV_FILE=${stack.envFile}`, `ARGS=--seconds 2 --no-release --out ${out}`], {
        cwd: ROOT,
        env: { ...process.env, ...stack.composeEnv },
        timeout: 360_000,
      });
      output = run.stdout;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : -1;
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    console.log(`[e2e] drill output:\n${output}`);

    const results = JSON.parse(readFileSync(out, 'utf8')) as DrillResults;
    // make turns any failing recipe into exit 2.
    expect(code).toBe(results.passed ? 0 : 2);
    expect(results.phases.map((p) => p.name)).toEqual([
      'baseline',
      'error',
      'error stop',
      'timeout',
      'timeout stop',
      'switch',
    ]);
    for (const phase of results.phases) {
      expect(phase.requests, phase.name).toBeGreaterThanOrEqual(30);
      expect(phase.non200, phase.name).toBe(0);
    }
    const missed = results.verdicts.filter((v) => !v.met && FUNCTIONAL.some((re) => re.test(v.metric)));
    expect(missed).toEqual([]);
    // The stack's cooldown is 0, so every failover and recovery went out, and the receiver got them.
    for (const name of ['error', 'error stop', 'timeout', 'timeout stop']) {
      expect(results.phases.find((p) => p.name === name)?.alert, name).toMatchObject({ decision: 'send', outcome: 'delivered' });
    }
    const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    // Error chaos and timeout chaos, each recovered; no release ran.
    expect(texts.filter((t) => t.includes('Failover detected'))).toHaveLength(2);
    expect(texts.filter((t) => t.includes('Recovered'))).toHaveLength(2);
    expect(texts.filter((t) => t.startsWith('Release '))).toEqual([]);

    // Left as found: blue serving its release, green its own, no chaos, ACTIVE_POOL unchanged.
    expect(envFileValue(stack.envFile, 'ACTIVE_POOL')).toBe('blue');
    expect(envFileValue(stack.envFile, 'RELEASE_ID_BLUE')).toBe(RELEASES.blue);
    expect(envFileValue(stack.envFile, 'RELEASE_ID_GREEN')).toBe(RELEASES.green);
    expect((await getVersion()).release).toBe(RELEASES.blue);
    expect((await getVersion()).pool).toBe('blue');
    for (const pool of ['blue', 'green'] as const) {
      const origins = await replicaOrigins(stack.settings, pool, env);
      expect(origins).toHaveLength(REPLICAS);
      for (const origin of origins) expect((await fetch(`${origin}/readyz`)).status, `readyz on ${origin}`).toBe(200);
    }
  });
});
