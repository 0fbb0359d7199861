// `make drill`: a failover drill against the running stack (started if down).
// Steady load on the public port through: a baseline, error chaos on the
// active pool and its end, timeout chaos and its end, a planned switch there
// and back. Prints progress, a table and the verdicts, writes the figures to
// bench/results/drill.json. Exit 0 when every bar is met, 1 when one is
// missed (or the drill could not finish), 2 on a usage error, 130 on Ctrl-C.
// Chaos is stopped and the active pool restored whatever happens.
import { USAGE, parseDrillArgs } from './drill/options.js';
import { coolingDown, judgeDrill, type PhaseRecord } from './drill/judge.js';
import { baseline, chaosOff, chaosOn, log, switchAndBack, type DrillContext } from './drill/phases.js';
import { printTable, printVerdicts, writeResults, type Verdict } from './lib/report.js';
import {
  chaos,
  ensureStack,
  maintenanceOn,
  otherPool,
  recentAlerts,
  runMake,
  stackSettingsOrExit,
  type PoolName,
  type StackSettings,
} from './lib/stack.js';

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
const { rate, seconds, out } = parsed.options;
const settings = stackSettingsOrExit('drill');
const active = settings.ACTIVE_POOL;
const other = otherPool(active);

const interrupt = new AbortController();
let cleaningUp = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (cleaningUp) {
      console.error(`\ndrill: ${signal} during clean-up: check with make status, then make chaos-stop and ACTIVE_POOL in ${settings.ENV_FILE}`);
      process.exit(130);
    }
    if (!interrupt.signal.aborted) console.log(`\ndrill: ${signal}: ending the phase, then undoing chaos and the switch`);
    interrupt.abort();
  });
}

console.log(
  `Failover drill on 127.0.0.1:${settings.NGINX_PORT} (ENV_FILE ${settings.ENV_FILE}): active pool ${active}, ` +
    `${rate} requests/s, ${seconds} s per phase`,
);
try {
  await ensureStack(settings);
} catch (err) {
  console.error(`drill: ${(err as Error).message}`);
  process.exit(1);
}
const maintenance = await warnAboutAlertPolicy(settings);

const ctx: DrillContext = {
  settings,
  rate,
  phaseMs: seconds * 1000,
  interrupted: interrupt.signal,
  state: { switchedAway: false },
};
const plan: { name: string; title: string; run: (name: string) => Promise<PhaseRecord> }[] = [
  { name: 'baseline', title: `all from ${active}`, run: (name) => baseline(ctx, name) },
  { name: 'error', title: `error chaos on ${active}: ${other} takes over`, run: (name) => chaosOn(ctx, name, 'error') },
  { name: 'error stop', title: `error chaos stopped: ${active} serves again`, run: (name) => chaosOff(ctx, name) },
  { name: 'timeout', title: `timeout chaos on ${active}: ${other} takes over`, run: (name) => chaosOn(ctx, name, 'timeout') },
  { name: 'timeout stop', title: `timeout chaos stopped: ${active} serves again`, run: (name) => chaosOff(ctx, name) },
  { name: 'switch', title: `make switch POOL=${other} and back: no failover page`, run: (name) => switchAndBack(ctx, name) },
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
    if (record.kind === 'baseline' && !judgeDrill([record]).passed) {
      failure = `baseline not all 200 from ${active}: check the stack (make status) and ACTIVE_POOL in ${settings.ENV_FILE}`;
      break;
    }
  }
} catch (err) {
  failure = (err as Error).message;
  console.error(`drill: ${failure}`);
} finally {
  cleaningUp = true;
  await cleanUp(settings, active, ctx.state);
  cleaningUp = false;
}

const judgement = judgeDrill(records);
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
      maintenance: maintenance ?? 'unknown',
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

/** Stops chaos on both pools and, if a switch may have left the other pool serving, switches back. */
async function cleanUp(s: StackSettings, pool: PoolName, state: DrillContext['state']): Promise<void> {
  console.log('\nclean-up');
  for (const p of ['blue', 'green'] as const) {
    try {
      await chaos(s, p, 'stop');
    } catch (err) {
      log(`could not stop chaos on ${p}: ${(err as Error).message}; run make chaos-stop`);
    }
  }
  log('chaos stopped on both pools');
  if (!state.switchedAway) return;
  log(`switching back: make switch POOL=${pool}`);
  const run = await runMake(s, ['switch', `POOL=${pool}`]);
  for (const line of run.output.trimEnd().split('\n')) log(`| ${line}`);
  if (run.code === 0) state.switchedAway = false;
  else log(`could not switch back to ${pool} (exit ${run.code}): run make switch POOL=${pool}`);
}

/**
 * Alerts the policy will hold back must not look like a broken watcher: say
 * up front when maintenance suppresses everything, and when the cooldown
 * will hold back the second failover (or even the first). Returns the
 * maintenance state, undefined when it could not be read.
 */
async function warnAboutAlertPolicy(s: StackSettings): Promise<boolean | undefined> {
  const maintenance = await maintenanceOn(s);
  if (maintenance === true) {
    console.log(
      '\n*** WARNING: the watcher is in maintenance mode: every alert is suppressed, none reaches Slack. ***\n' +
        '*** The drill can only check that alerts are raised in time. make maintenance-off to test delivery. ***',
    );
  } else if (maintenance === undefined) {
    console.log(`note: could not read the watcher's maintenance state (its /stats did not answer); MAINTENANCE_MODE=${s.MAINTENANCE_MODE}`);
  }
  const cooldownMs = s.ALERT_COOLDOWN_SEC * 1000;
  if (cooldownMs === 0) return maintenance;
  console.log(
    `note: ALERT_COOLDOWN_SEC=${s.ALERT_COOLDOWN_SEC}: a failover or recovery alert within that time of the last one ` +
      'sent is held back, so the timeout phase’s are; the table says "held back" and judges when they were raised.',
  );
  try {
    for (const { kind, agoMs } of coolingDown(await recentAlerts(s), cooldownMs, Date.now())) {
      console.log(`note: a ${kind} alert was sent ${Math.round(agoMs / 1000)} s ago: the next ones are held back too.`);
    }
  } catch (err) {
    console.log(`note: watcher /stats unavailable (${(err as Error).message}): alert times will be missing`);
  }
  return maintenance;
}
