// What a request costs the stack: the same closed-loop load (keep-alive,
// CONNECTIONS connections) on GET /version through Nginx's public port and on
// the serving pool's direct port, on the running stack (started if down), in
// alternating rounds. Besides requests/s and latency, each round reads the CPU
// time of Nginx, the serving pool and the watcher from their cgroups, and
// divides it by the requests sent: the cost per request of each, where the
// watcher's is per access-log line (one per request through Nginx).
// The load generator shares the machine's cores with the stack: the absolute
// figures are lower than on separate hosts, the CPU per request is not.
import { closedLoop, cpuSnapshot, serviceContainers, throughput, type LoadRun, type Throughput } from '../ops/stack/index.js';
import { printTable, printVerdicts, writeResults, type Row, type Verdict } from './lib/report.js';
import { ensureStack, poolOrigin, poolPort, publicOrigin, stackSettingsOrExit } from '../ops/stack/index.js';

const CONNECTIONS = 32;
const WARMUP_MS = 3_000;
const ROUNDS = 3;
const ROUND_MS = 4_000;
const PATH = '/version';
const SETTLE_MS = 300;
// The stack's own idle cost (health checks, Nginx's background loops): long
// enough to hold two health checks of each container (every 5 s).
const IDLE_MS = 10_000;
// Issue 14's targets, in CPU microseconds per request.
const TARGET_US = { nginx: 30, watcher: 2 } as const;

const settings = stackSettingsOrExit('proxy');
await ensureStack(settings);
const active = settings.ACTIVE_POOL;
const SERVICES = { nginx: 'nginx', app: `app_${active}`, watcher: 'alert_watcher' } as const;
type Part = keyof typeof SERVICES;
const PARTS = Object.keys(SERVICES) as Part[];
const ids = await serviceContainers(settings, Object.values(SERVICES));

interface Round {
  run: LoadRun;
  /** CPU microseconds each part used during the run. */
  cpuUs: Record<Part, number>;
}
const targets = [
  { name: `direct (${active} :${poolPort(settings, active)})`, origin: poolOrigin(settings, active), rounds: [] as Round[] },
  { name: `nginx (:${settings.NGINX_PORT})`, origin: publicOrigin(settings), rounds: [] as Round[] },
] as const;
const [direct, nginx] = targets;
const load = (origin: string, durationMs: number) => closedLoop({ origin, path: PATH, connections: CONNECTIONS, durationMs });

/** CPU microseconds each part used between two snapshots. */
function usedBetween(before: Record<string, number>, after: Record<string, number>): Record<Part, number> {
  return Object.fromEntries(PARTS.map((p) => [p, after[SERVICES[p]]! - before[SERVICES[p]]!])) as Record<Part, number>;
}

async function measured(origin: string): Promise<Round> {
  const before = cpuSnapshot(ids);
  const run = await load(origin, ROUND_MS);
  // The watcher reads the last lines up to a poll later: count its work on them.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { run, cpuUs: usedBetween(before, cpuSnapshot(ids)) };
}

/** CPU µs per request of each part over `rounds`; less the idle cost of the same time, when given. */
function perRequest(rounds: readonly Round[], idleUsPerSec?: Record<Part, number>): Record<Part, number> {
  const requests = rounds.reduce((n, r) => n + r.run.latencies.length, 0);
  const seconds = rounds.reduce((n, r) => n + r.run.seconds + SETTLE_MS / 1000, 0);
  const cost = (p: Part) => rounds.reduce((us, r) => us + r.cpuUs[p], 0) - (idleUsPerSec?.[p] ?? 0) * seconds;
  return Object.fromEntries(PARTS.map((p) => [p, cost(p) / Math.max(1, requests)])) as Record<Part, number>;
}
const us = (n: number) => Math.round(n * 10) / 10;

console.log(
  `GET ${PATH}, ${CONNECTIONS} keep-alive connections; ${ROUNDS} rounds of ${ROUND_MS / 1000} s per target, ` +
    `taking turns, after ${WARMUP_MS / 1000} s of warm-up each; CPU of ${Object.values(SERVICES).join(', ')} from their cgroups`,
);
for (const target of targets) await load(target.origin, WARMUP_MS);
const idleStart = cpuSnapshot(ids);
await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
const idleUsed = usedBetween(idleStart, cpuSnapshot(ids));
const idleUsPerSec = Object.fromEntries(PARTS.map((p) => [p, (idleUsed[p] * 1000) / IDLE_MS])) as Record<Part, number>;
console.log(`idle, ${IDLE_MS / 1000} s: ${PARTS.map((p) => `${SERVICES[p]} ${Math.round(idleUsPerSec[p] / 1000)} ms`).join(', ')} of CPU per second`);
const rows: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate who goes first, so neither always runs right after the other.
  for (const target of round % 2 === 1 ? targets : [nginx, direct]) {
    const r = await measured(target.origin);
    target.rounds.push(r);
    const t = throughput([r.run]);
    const cpu = perRequest([r]);
    rows.push({
      round,
      target: target.name,
      'req/s': Math.round(t.rps),
      'p99 ms': t.p99Ms,
      'nginx µs/req': us(cpu.nginx),
      'app µs/req': us(cpu.app),
      'watcher µs/req': us(cpu.watcher),
    });
    console.log(
      `round ${round}/${ROUNDS} ${target.name}: ${Math.round(t.rps)} req/s; CPU per request: ` +
        `nginx ${us(cpu.nginx)} µs, ${SERVICES.app} ${us(cpu.app)} µs, watcher ${us(cpu.watcher)} µs`,
    );
  }
}

const totals = targets.map((t) => ({
  name: t.name,
  load: throughput(t.rounds.map((r) => r.run)),
  cpu: perRequest(t.rounds),
  marginal: perRequest(t.rounds, idleUsPerSec),
}));
const [d, n] = totals as [(typeof totals)[0], (typeof totals)[0]];
printTable('Rounds', rows);
printTable(
  'Cost per request',
  totals.map(({ name, load: t, cpu, marginal }) => ({
    target: name,
    requests: t.requests,
    failed: t.failed,
    'requests/s': Math.round(t.rps),
    'p50 ms': t.p50Ms,
    'p99 ms': t.p99Ms,
    'nginx µs': `${us(cpu.nginx)} (${us(marginal.nginx)})`,
    [`${SERVICES.app} µs`]: `${us(cpu.app)} (${us(marginal.app)})`,
    'watcher µs': `${us(cpu.watcher)} (${us(marginal.watcher)})`,
  })),
);
console.log('CPU µs per request: all the container used, divided by the requests (in brackets: less its idle cost over the same time)');
const failed = d.load.failed + n.load.failed;
// Judged on all the CPU the container used: the idle cost is the stack's too.
const verdicts: Verdict[] = [
  { metric: 'watcher CPU per access-log line', value: `${us(n.cpu.watcher)} µs at ${Math.round(n.load.rps)} req/s`, target: `≤ ${TARGET_US.watcher} µs`, met: n.cpu.watcher <= TARGET_US.watcher },
  { metric: 'nginx CPU per proxied request', value: `${us(n.cpu.nginx)} µs`, target: `≤ ${TARGET_US.nginx} µs`, met: n.cpu.nginx <= TARGET_US.nginx },
  { metric: 'failed requests', value: failed, target: '0', met: failed === 0 },
];
printVerdicts(verdicts);
console.log(
  `for reference: through nginx ${((n.load.rps / d.load.rps) * 100).toFixed(1)}% of direct requests/s, p99 ${(n.load.p99Ms / d.load.p99Ms).toFixed(2)}× direct ` +
    `(not a target: with an app as cheap as nginx, 2 shared cores cannot give 80%)`,
);
writeResults('proxy', {
  path: PATH,
  connections: CONNECTIONS,
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  note: 'the load generator, nginx, the app and the watcher share the same cores; CPU from each container cgroup',
  services: SERVICES,
  idleCpuUsPerSecond: idleUsPerSec,
  direct: { ...d.load, cpuUsPerRequest: d.cpu, cpuUsPerRequestLessIdle: d.marginal },
  nginx: { ...n.load, cpuUsPerRequest: n.cpu, cpuUsPerRequestLessIdle: n.marginal },
  perRound: rows,
  rpsRatio: n.load.rps / d.load.rps,
  targetsUs: TARGET_US,
  verdicts,
});
