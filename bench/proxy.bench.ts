// Proxy cost: the same closed-loop load (keep-alive, CONNECTIONS connections)
// on GET /version against Nginx's public port and against the active pool's
// direct port, on the running stack (started if down). Target: through Nginx
// at least 80% of the direct requests per second.
// The load generator shares the machine's cores with Nginx and the app in
// both runs: the comparison is fair, the absolute figures lower than on
// separate hosts. The two targets take turns in short rounds, so a neighbour's
// burst of CPU use lands on both rather than on one.
import { closedLoop, throughput, type LoadRun, type Throughput } from '../ops/stack/index.js';
import { printTable, printVerdicts, writeResults, type Row, type Verdict } from './lib/report.js';
import { ensureStack, poolOrigin, poolPort, publicOrigin, stackSettingsOrExit } from '../ops/stack/index.js';

const CONNECTIONS = 32;
const WARMUP_MS = 3_000;
const ROUNDS = 3;
const ROUND_MS = 4_000;
const TARGET_RATIO = 0.8;
const PATH = '/version';

const settings = stackSettingsOrExit('proxy');
await ensureStack(settings);
const active = settings.ACTIVE_POOL;
const targets = [
  { name: `direct (${active} :${poolPort(settings, active)})`, origin: poolOrigin(settings, active), runs: [] as LoadRun[] },
  { name: `nginx (:${settings.NGINX_PORT})`, origin: publicOrigin(settings), runs: [] as LoadRun[] },
] as const;
const [direct, nginx] = targets;
const load = (origin: string, durationMs: number) => closedLoop({ origin, path: PATH, connections: CONNECTIONS, durationMs });

console.log(
  `GET ${PATH}, ${CONNECTIONS} keep-alive connections; ${ROUNDS} rounds of ${ROUND_MS / 1000} s per target, ` +
    `taking turns, after ${WARMUP_MS / 1000} s of warm-up each`,
);
for (const target of targets) await load(target.origin, WARMUP_MS);
const rounds: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate who goes first, so neither always runs right after the other.
  for (const target of round % 2 === 1 ? targets : [nginx, direct]) target.runs.push(await load(target.origin, ROUND_MS));
  const [d, n] = [throughput(direct.runs.slice(-1)), throughput(nginx.runs.slice(-1))];
  const ratio = n.rps / d.rps;
  console.log(`round ${round}/${ROUNDS}: direct ${Math.round(d.rps)} req/s, nginx ${Math.round(n.rps)} req/s (${(ratio * 100).toFixed(1)}%)`);
  rounds.push({ round, 'direct req/s': Math.round(d.rps), 'nginx req/s': Math.round(n.rps), ratio: `${(ratio * 100).toFixed(1)}%` });
}

const totals: [string, Throughput][] = targets.map((t) => [t.name, throughput(t.runs)]);
const [[, d], [, n]] = totals as [[string, Throughput], [string, Throughput]];
const ratio = n.rps / d.rps;
printTable('Rounds', rounds);
printTable(
  'Proxy cost',
  totals.map(([name, t]) => ({
    target: name,
    requests: t.requests,
    failed: t.failed,
    'requests/s': Math.round(t.rps),
    'p50 ms': t.p50Ms,
    'p99 ms': t.p99Ms,
    'max ms': t.maxMs,
  })),
);
const verdicts: Verdict[] = [
  { metric: 'nginx / direct requests/s', value: `${(ratio * 100).toFixed(1)}%`, target: `≥ ${TARGET_RATIO * 100}%`, met: ratio >= TARGET_RATIO },
  { metric: 'failed requests', value: d.failed + n.failed, target: '0', met: d.failed + n.failed === 0 },
];
printVerdicts(verdicts);
console.log(`p99 through nginx: ${(n.p99Ms / d.p99Ms).toFixed(2)}× direct`);
writeResults('proxy', {
  path: PATH,
  connections: CONNECTIONS,
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  note: 'the load generator, nginx and the app share the same cores',
  direct: d,
  nginx: n,
  perRound: rounds,
  rpsRatio: ratio,
  p99Ratio: n.p99Ms / d.p99Ms,
  verdicts,
});
