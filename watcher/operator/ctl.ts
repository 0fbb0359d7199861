// Operator CLI, run inside the alert_watcher container (see the Makefile; the
// release CLI runs it through `docker compose exec`):
//   node dist/watcher/operator/ctl.js maintenance on|off [--who WHO]
//   node dist/watcher/operator/ctl.js planned-switch <blue|green> [--from <pool>] [--ttl-sec N]
//   node dist/watcher/operator/ctl.js planned-switch --cancel
//   node dist/watcher/operator/ctl.js record --action A --outcome O [--pool P] ...
//   node dist/watcher/operator/ctl.js history [--json]
//   node dist/watcher/operator/ctl.js stats
//   node dist/watcher/operator/ctl.js test-alert [--who WHO]
// It reads CONTROL_DIR and WATCHER_PORT like the daemon. Exit 2 on bad usage,
// 1 when the action fails.
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { parseConfig, poolName } from '../../common/config.js';
import { requireTogether, SECRET_SETTINGS, watcherConfigFields } from '../config.js';
import { announcePlannedSwitch, withdrawPlannedSwitch, writeMaintenance } from '../state/control.js';
import { appendHistory } from '../state/history.js';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../vocabulary.js';
import { auditEntry, history, record } from './historyCommands.js';
import { silenceStack, unsilenceStack } from './silences.js';
import { testAlert } from './testAlert.js';
import { BadValueError, UsageError } from './usageError.js';

const USAGE = `usage:
  ctl maintenance on|off [--who WHO]
  ctl planned-switch <blue|green> [--from <blue|green>] [--ttl-sec N]
  ctl planned-switch --cancel
  ctl record --action ACTION --outcome OUTCOME [--pool <blue|green>] [--from-pool <blue|green>]
             [--release ID] [--from-release ID] [--reason TEXT] [--who WHO] [--duration-ms N]
      ACTION:  ${AUDIT_ACTIONS.join(' ')}
      OUTCOME: ${AUDIT_OUTCOMES.join(' ')}
  ctl history [--json]
  ctl stats
  ctl test-alert [--who WHO]`;

const POOLS: readonly string[] = poolName.options;
const STATS_TIMEOUT_MS = 3000;

dotenv.config({ quiet: true });
const settings = parseConfig(
  requireTogether(watcherConfigFields.pick({
    CONTROL_DIR: true,
    WATCHER_PORT: true,
    PLANNED_SWITCH_TTL_SEC: true,
    SLACK_WEBHOOK_URL: true,
    SLACK_BOT_TOKEN: true,
    SLACK_CHANNEL: true,
    SLACK_API_URL: true,
    SLACK_CONNECT_TIMEOUT_MS: true,
    SLACK_TIMEOUT_MS: true,
    ALERTMANAGER_URL: true,
    ALERTMANAGER_STACK: true,
    ALERTMANAGER_INSTANCE: true,
    ALERTMANAGER_TIMEOUT_MS: true,
  })),
  process.env,
  SECRET_SETTINGS,
);
if (!settings.ok) {
  for (const problem of settings.problems) process.stderr.write(`ctl: config error: ${problem}\n`);
  process.exit(1);
}
const config = settings.config;
const { CONTROL_DIR, WATCHER_PORT, PLANNED_SWITCH_TTL_SEC } = config;

try {
  await run(process.argv.slice(2));
} catch (err) {
  const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`ctl: ${(err as Error).message}\n${usage && !(err instanceof BadValueError) ? `${USAGE}\n` : ''}`);
  process.exit(usage ? 2 : 1);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'maintenance':
      return maintenance(rest);
    case 'planned-switch':
      return plannedSwitch(rest);
    case 'record':
      return record(rest, CONTROL_DIR);
    case 'history':
      return history(rest, CONTROL_DIR);
    case 'stats':
      return printStats(rest);
    case 'test-alert': {
      const { values } = parseArgs({ args: rest, strict: true, options: { who: { type: 'string' } } });
      process.exitCode = await testAlert(config, values.who, process.stdout);
      return;
    }
    default:
      throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`);
  }
}

async function maintenance(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, strict: true, options: { who: { type: 'string' } } });
  const [mode, extra] = positionals;
  if ((mode !== 'on' && mode !== 'off') || extra !== undefined) throw new UsageError('maintenance takes exactly "on" or "off"');
  const on = mode === 'on';
  const entry = auditEntry({ who: values.who }, { action: on ? 'maintenance_on' : 'maintenance_off', outcome: 'ok' });
  // With Alertmanager, maintenance is a silence there too: it holds every watcher's alerts, not only this one's.
  // It is expired before the watcher hears maintenance end, because the watcher then re-posts the
  // resolutions the silence muted, and a re-post that comes while it still holds is muted again.
  const withAlertmanager = config.ALERTMANAGER_URL.length > 0;
  const outcome = withAlertmanager && !on ? await unsilenceStack(config) : undefined;
  const file = writeMaintenance(CONTROL_DIR, on);
  appendHistory(CONTROL_DIR, entry);
  process.stdout.write(`maintenance ${mode} (${file}); the watcher applies it to the next alert\n`);
  const result = outcome ?? (withAlertmanager ? await silenceStack(config, entry.who ?? 'unknown') : undefined);
  if (result === undefined) return;
  for (const line of result.lines) process.stdout.write(`${line}\n`);
  if (!result.ok) {
    throw new Error(
      on
        ? 'cannot reach every Alertmanager: alerts from the other watchers still reach the one(s) above without a silence; run make maintenance-on again once it is back'
        : 'a silence could not be expired: alerts stay held there until it is; run make maintenance-off again once Alertmanager is back',
    );
  }
}

function plannedSwitch(args: string[]): void {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { from: { type: 'string' }, 'ttl-sec': { type: 'string' }, cancel: { type: 'boolean' } },
  });
  if (values.cancel === true) return cancelSwitch(args.length);
  const [to, extra] = positionals;
  if (to === undefined || !POOLS.includes(to) || extra !== undefined) {
    throw new UsageError('planned-switch takes the target pool: "blue" or "green"');
  }
  const from = values.from;
  if (from !== undefined && (!POOLS.includes(from) || from === to)) {
    throw new UsageError(`--from must be the other pool, got "${from}"`);
  }
  const ttlSec = values['ttl-sec'] === undefined ? PLANNED_SWITCH_TTL_SEC : parseTtl(values['ttl-sec']);
  const marker = announcePlannedSwitch(CONTROL_DIR, { from, to, ttlMs: ttlSec * 1000, now: Date.now() });
  process.stdout.write(
    `planned switch to ${to}${from ? ` from ${from}` : ''} announced for ${ttlSec} s (id ${marker.id}): ` +
      'the next flip to it is reported as planned, not as a failover\n',
  );
}

/** For a switch that failed (switch.sh's trap): idempotent, so it is safe to run whatever happened. */
function cancelSwitch(argCount: number): void {
  if (argCount !== 1) throw new UsageError('planned-switch --cancel takes nothing else');
  const withdrawn = withdrawPlannedSwitch(CONTROL_DIR);
  process.stdout.write(
    withdrawn
      ? 'planned switch withdrawn: a flip from now on is reported as a failover\n'
      : 'no planned switch to withdraw\n',
  );
}

/** The same bounds as PLANNED_SWITCH_TTL_SEC, from the same schema. */
function parseTtl(raw: string): number {
  const ttl = watcherConfigFields.shape.PLANNED_SWITCH_TTL_SEC.safeParse(raw);
  if (!ttl.success) throw new UsageError(`--ttl-sec: ${ttl.error.issues[0]?.message ?? 'invalid'} (got "${raw}")`);
  return ttl.data;
}

async function printStats(args: string[]): Promise<void> {
  if (args.length > 0) throw new UsageError('stats takes no arguments');
  const url = `http://127.0.0.1:${WATCHER_PORT}/stats`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(STATS_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
    throw new Error(`cannot reach the watcher at ${url}: ${(err as Error).message}${cause}`);
  }
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  process.stdout.write(`${JSON.stringify(await res.json(), null, 2)}\n`);
}
