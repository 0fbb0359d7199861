// `make drill`: a failover drill against the running stack (started if down).
// Steady load on the public port through: a baseline, error chaos on the
// active pool and its end, timeout chaos and its end, a planned switch there
// and back; then, unless --no-release, a good release to the idle pool, a bad
// one the release tool must roll back, and a rollback to the starting pool
// (drill/releasePhases.ts). Each end of chaos lasts until the watcher's
// all-clear, which comes RECOVERY_HOLD_SEC after the pool serves again, so
// each chaos is an incident of its own (see drill/phases.ts). Prints progress,
// a table and the verdicts, writes the figures to bench/results/drill.json.
// Exit 0 when every bar is met, 1 when one is missed (or the drill could not
// finish), 2 on a usage error, 130 on Ctrl-C. Whatever happens, chaos is
// stopped, the active pool restored and both pools put back on the image and
// release they ran before the drill.
import { USAGE, parseDrillArgs } from './drill/options.js';
import { coolingDown, judgeDrill, recoveryAlertMs, type AlertSettings } from './drill/judge.js';
import { type PhaseRecord } from './drill/records.js';
import { baseline, chaosOff, chaosOn, log, switchAndBack, type DrillContext } from './drill/phases.js';
import {
  badRelease,
  drillReleaseIds,
  goodRelease,
  restorePools,
  rollbackPhase,
  startingVersions,
  type StartingVersions,
} from './drill/releasePhases.js';
import { printTable, printVerdicts, writeResults, type Verdict } from './lib/report.js';
import { acquireLock, lockPath } from '../ops/release/lock.js';
import {
  chaos,
  ensureStack,
  maintenanceOn,
  otherPool,
  poolImage,
  recentAlerts,
  runMake,
  servingPool,
  stackSettingsOrExit,
  type PoolName,
  type StackSettings,
} from '../ops/stack/index.js';

const parsed = parseDrillArgs(process.argv.slice(2));
if (parsed.ok === 'help') {
  console.log(USAGE);
  process.exit(0);
}
if (!parsed.ok) {
  for (const problem of parsed.problems) console.error(`drill: ${problem}`);
  console.error(USAGE);
  process.exit(2);
}
const { rate, seconds, out, release: releasing } = parsed.options;
const settings = stackSettingsOrExit('drill');
const active = servingPool(settings);
const other = otherPool(active);
const start = startingVersions(settings);
// The drill's releases go through the release tool's functions, not make release: it takes the tool's lock itself.
const lock = releasing ? acquireLock(lockPath(settings.ENV_FILE), 'drill') : undefined;
if (lock?.ok === false) {
  const h = lock.holder;
  const who = h === undefined ? `something holds ${lockPath(settings.ENV_FILE)}` : `a ${h.action} is running (pid ${h.pid} on ${h.host}, since ${h.since})`;
  console.error(`drill: ${who}: wait for it, or run the drill with --no-release`);
  process.exit(1);
}
const alertSettings: AlertSettings = { cooldownMs: settings.ALERT_COOLDOWN_SEC * 1000, holdMs: settings.RECOVERY_HOLD_SEC * 1000 };

const interrupt = new AbortController();
let cleaningUp = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (cleaningUp) {
      console.error(
        `\ndrill: ${signal} during clean-up: check with make status, then make chaos-stop and make switch POOL=${active}` +
          (releasing ? ` and the pools' releases (make history): ${active} ran ${start[active].release}, ${other} ${start[other].release}` : ''),
      );
      process.exit(130);
    }
    if (!interrupt.signal.aborted) console.log(`\ndrill: ${signal}: ending the phase, then undoing chaos, the switch and any release`);
    interrupt.abort();
  });
}

console.log(
  `Failover drill on 127.0.0.1:${settings.NGINX_PORT} (ENV_FILE ${settings.ENV_FILE}): active pool ${active}, ` +
    `${rate} requests/s, ${seconds} s per phase`,
);
if (releasing) {
  // Four deploys of one pool (the good release, the bad one, its restore, the clean-up's), some 15 s each.
  console.log(
    `note: the release phases run two releases, each with a pre- and a post-promotion analysis of ANALYSIS_SEC=${settings.ANALYSIS_SEC} s, ` +
      `and four deploys: about ${Math.ceil((4 * settings.ANALYSIS_SEC + 60) / 60)} min more (--no-release skips them).`,
  );
}
try {
  await ensureStack(settings);
} catch (err) {
  console.error(`drill: ${(err as Error).message}`);
  lock?.release();
  process.exit(1);
}
const maintenance = await warnAboutAlertPolicy(settings);

const ctx: DrillContext = {
  settings,
  active,
  rate,
  phaseMs: seconds * 1000,
  interrupted: interrupt.signal,
  state: { switchedAway: false, released: false },
};
const ids = drillReleaseIds(new Date());
// The image the active pool serves now: the releases need no build.
const image = poolImage(settings, active);
const plan: { name: string; title: string; run: (name: string) => Promise<PhaseRecord> }[] = [
  { name: 'baseline', title: `all from ${active}`, run: (name) => baseline(ctx, name) },
  { name: 'error', title: `error chaos on ${active}: ${other} takes over`, run: (name) => chaosOn(ctx, name, 'error') },
  { name: 'error stop', title: `error chaos stopped: ${active} serves again, all-clear after the hold`, run: (name) => chaosOff(ctx, name) },
  { name: 'timeout', title: `timeout chaos on ${active}: ${other} takes over`, run: (name) => chaosOn(ctx, name, 'timeout') },
  { name: 'timeout stop', title: `timeout chaos stopped: ${active} serves again, all-clear after the hold`, run: (name) => chaosOff(ctx, name) },
  { name: 'switch', title: `make switch POOL=${other} and back: no failover page`, run: (name) => switchAndBack(ctx, name) },
  ...(releasing
    ? [
        { name: 'release', title: `release ${ids.good} to ${other}: promoted, no failover page`, run: (name: string) => goodRelease(ctx, name, ids.good, image) },
        {
          name: 'bad release',
          title: `release ${ids.bad} to ${active}, error chaos once promoted: rolled back to ${ids.good}`,
          run: (name: string) => badRelease(ctx, name, ids.bad, image),
        },
        { name: 'rollback', title: `make rollback: ${active} serves ${start[active].release} again`, run: (name: string) => rollbackPhase(ctx, name) },
      ]
    : []),
];

const records: PhaseRecord[] = [];
let failure: string | undefined;
try {
  for (const [i, step] of plan.entries()) {
    if (interrupt.signal.aborted) break;
    console.log(`\n[${i + 1}/${plan.length}] ${step.name}: ${step.title}`);
    const record = await step.run(step.name);
    records.push(record);
    // Chaos on a stack that does not even serve its baseline would measure nothing useful.
    if (record.kind === 'baseline' && !judgeDrill([record], alertSettings).passed) {
      failure = `baseline not all 200 from ${active}: check the stack (make status)`;
      break;
    }
    // The bad release and the rollback start from the good release on the other pool.
    if (record.kind === 'release' && record.expected === 'promoted' && record.figures.outcome !== 'promoted') {
      failure = `release ${record.figures.outcome}${record.figures.reason === undefined ? '' : `: ${record.figures.reason}`}`;
      break;
    }
  }
} catch (err) {
  failure = (err as Error).message;
  console.error(`drill: ${failure}`);
} finally {
  cleaningUp = true;
  await cleanUp(settings, active, ctx.state, start);
  cleaningUp = false;
  lock?.release();
}

const judgement = judgeDrill(records, alertSettings);
const finished: Verdict = {
  metric: 'drill completed',
  value: interrupt.signal.aborted ? 'interrupted' : (failure ?? `${records.length}/${plan.length} phases`),
  target: `${plan.length}/${plan.length} phases`,
  met: records.length === plan.length && failure === undefined,
};
const verdicts = [...judgement.verdicts, finished];
printTable('Drill', judgement.rows);
printVerdicts(verdicts);
const passed = verdicts.every((v) => v.met);
writeResults(
  'drill',
  {
    settings: {
      rate,
      secondsPerPhase: seconds,
      activePool: active,
      nginxPort: settings.NGINX_PORT,
      alertCooldownSec: settings.ALERT_COOLDOWN_SEC,
      recoveryHoldSec: settings.RECOVERY_HOLD_SEC,
      recoveryAlertBarMs: recoveryAlertMs(alertSettings),
      maintenance: maintenance ?? 'unknown',
      release: releasing,
      analysisSec: settings.ANALYSIS_SEC,
    },
    passed,
    phases: judgement.phases,
    verdicts,
  },
  out,
);
if (interrupt.signal.aborted) {
  console.log('\nDrill interrupted: the figures above cover the phases that ran.');
  process.exit(130);
}
console.log(passed ? '\nDrill passed: every bar met.' : '\nDrill FAILED: see ✘ above.');
process.exit(passed ? 0 : 1);

/**
 * Stops chaos on both pools; if a switch may have left the other pool serving,
 * switches back; if a release phase began, puts both pools back on the
 * versions they ran before the drill, with `pool` serving.
 */
async function cleanUp(s: StackSettings, pool: PoolName, state: DrillContext['state'], versions: StartingVersions): Promise<void> {
  console.log('\nclean-up');
  for (const p of ['blue', 'green'] as const) {
    try {
      await chaos(s, p, 'stop');
    } catch (err) {
      log(`could not stop chaos on ${p}: ${(err as Error).message}; run make chaos-stop`);
    }
  }
  log('chaos stopped on both pools');
  if (state.switchedAway) {
    log(`switching back: make switch POOL=${pool}`);
    const run = await runMake(s, ['switch', `POOL=${pool}`]);
    for (const line of run.output.trimEnd().split('\n')) log(`| ${line}`);
    if (run.code === 0) state.switchedAway = false;
    else log(`could not switch back to ${pool} (exit ${run.code}): run make switch POOL=${pool}`);
  }
  if (!state.released) return;
  try {
    await restorePools(pool, versions);
    log(`both pools back on their starting releases, ${pool} serving`);
  } catch (err) {
    const { blue, green } = versions;
    log(
      `could not restore the pools: ${(err as Error).message}; check make status and make history: ` +
        `blue ran ${blue.release} (${blue.image}), green ${green.release} (${green.image}), ${pool} serving`,
    );
  }
}

/**
 * Messages the policy will hold back must not look like a broken watcher: say
 * up front when maintenance suppresses everything, how long each all-clear
 * takes, and when the cooldown will defer the first all-clear (and so leave
 * the second chaos without a message of its own). Returns the maintenance
 * state, undefined when it could not be read.
 */
async function warnAboutAlertPolicy(s: StackSettings): Promise<boolean | undefined> {
  const maintenance = await maintenanceOn(s);
  if (maintenance === true) {
    console.log(
      '\n*** WARNING: the watcher is in maintenance mode: every alert is suppressed, none reaches Slack. ***\n' +
        '*** The drill can only check that alerts are decided in time. make maintenance-off to test delivery. ***',
    );
  } else if (maintenance === undefined) {
    console.log(`note: could not read the watcher's maintenance state (its /stats did not answer); MAINTENANCE_MODE=${s.MAINTENANCE_MODE}`);
  }
  console.log(
    `note: RECOVERY_HOLD_SEC=${s.RECOVERY_HOLD_SEC}: an all-clear comes only after that much steady service, so each ` +
      `end of chaos lasts until it (bar: ${recoveryAlertMs({ holdMs: s.RECOVERY_HOLD_SEC * 1000 }) / 1000} s after the pool serves again).`,
  );
  const cooldownMs = s.ALERT_COOLDOWN_SEC * 1000;
  if (cooldownMs === 0) return maintenance;
  console.log(
    `note: ALERT_COOLDOWN_SEC=${s.ALERT_COOLDOWN_SEC}: a failover's all-clear within that time of its opening is deferred, ` +
      'not sent; Slack then still has the failover open when the timeout chaos starts, so no new message is due and the drill ' +
      'checks that the watcher withdrew the deferred all-clear instead. The table says "deferred" and judges when it was decided.',
  );
  try {
    for (const { kind, agoMs } of coolingDown(await recentAlerts(s), cooldownMs, Date.now())) {
      console.log(`note: a ${kind} message was sent ${Math.round(agoMs / 1000)} s ago: that incident's next changes are deferred too.`);
    }
  } catch (err) {
    console.log(`note: watcher /stats unavailable (${(err as Error).message}): alert times will be missing`);
  }
  return maintenance;
}
