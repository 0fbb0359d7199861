// The watcher's settings: one schema, validated once at start (see
// docs/configuration.md). Everything has a default except the webhook, whose
// absence means dry-run.
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { envBool, envInt, loadConfig, logLevel, poolName, type Env } from '../common/config.js';
import { assertWritable } from '../common/atomicFile.js';

const PERCENT = 'expected a percentage above 0, at most 100';

// A heartbeat URL's path identifies the check (healthchecks.io's UUID): who has it can fake the heartbeat.
// ALERTMANAGER_URL may carry basic-auth credentials: the effective config shows scheme and host only.
// The bot token is a secret whole.
export const SECRET_SETTINGS = ['SLACK_WEBHOOK_URL', 'SLACK_BOT_TOKEN', 'HEARTBEAT_URL', 'ALERTMANAGER_URL'] as const;

// The paths are checked at start too: a watcher that cannot save its state
// or reads a directory would fail later, quietly.
const notADirectory = z.string().refine((path) => !statSync(path, { throwIfNoEntry: false })?.isDirectory(), {
  message: 'is a directory; expected a file path',
});
const writableDir = z.string().superRefine((dir, ctx) => {
  try {
    assertWritable(dir);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot write there (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
  }
});

// One or several Alertmanager base URLs (an HA cluster: each gets every alert),
// separated by commas or spaces. Empty: no Alertmanager.
const alertmanagerUrls = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter((u) => u !== ''))
  .superRefine((urls, ctx) => {
    const bad = urls.findIndex((u) => !URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol));
    if (bad >= 0) ctx.addIssue({ code: 'custom', message: `expected http(s) URLs separated by commas; URL ${bad + 1} of ${urls.length} is not one` });
    if (urls.length > 10) ctx.addIssue({ code: 'custom', message: 'expected at most 10 URLs' });
  });

/** The settings one by one; `pick` from this (a refined schema cannot be picked). */
/** The default backoff of every delivery's retries: RETRY_BACKOFF_*_MS's, and a client's built without them. */
export const RETRY_BACKOFF = { baseMs: 1000, maxMs: 10_000 } as const;

export const watcherConfigFields = z.object({
  // Plain http is accepted for local receivers; main.ts warns about it.
  SLACK_WEBHOOK_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  // The Web API instead (notify/slackApp.ts): one message per incident, edited as it changes. Scope chat:write.
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-[A-Za-z0-9-]{1,250}$/, { message: "expected the app's Bot User OAuth Token, xoxb-…" })
    .optional(),
  // The channel's ID, not its name: a renamed channel keeps its ID.
  SLACK_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,31}$/, { message: "expected a channel ID such as C0123456789 (at the bottom of the channel's details), not a #name" })
    .optional(),
  // Only tests change it, to their own stand-in.
  SLACK_API_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).default('https://slack.com/api'),
  ACTIVE_POOL: poolName.default('blue'),
  ERROR_RATE_THRESHOLD: z.coerce
    .number({ message: PERCENT })
    .gt(0, { message: PERCENT })
    .max(100, { message: PERCENT })
    .default(2),
  WINDOW_SIZE: envInt(1, 100_000).default(200),
  // Attempts per pool in its failure share: a few seconds of a busy pool, and
  // about a minute of one that Nginx takes out every fail_timeout.
  POOL_WINDOW_SIZE: envInt(10, 100_000).default(100),
  // Steady service a failing condition needs before it resolves: six of
  // Nginx's fail_timeout periods (5 s) with no failed attempt, 600 requests at
  // 20/s, which a pool failing even 1% of them passes with odds of 1 in 400;
  // short enough that a real fix is all-clear within a minute.
  RECOVERY_HOLD_SEC: envInt(0, 3_600).default(30),
  // Further messages of one incident wait this long after its last; the first never waits.
  ALERT_COOLDOWN_SEC: envInt(0, 86_400).default(300),
  // An incident still open this long after its last message is announced
  // again (0: never). An open failover means no backup: hourly, not daily.
  ALERT_REMIND_SEC: envInt(0, 604_800).default(3_600),
  MAINTENANCE_MODE: envBool.default(false),
  // A missing log is fine (the watcher waits for it); a directory is a mistake.
  LOG_PATH: notADirectory.default('/var/log/bluegreen/access.log'),
  // Nginx writes its primary pool here; it wins over ACTIVE_POOL when present.
  ACTIVE_POOL_FILE: notADirectory.default('/var/log/bluegreen/active-pool'),
  CONTROL_DIR: writableDir.default('/var/lib/watcher'),
  WATCHER_PORT: envInt(1, 65_535).default(9100),
  LOG_POLL_INTERVAL_MS: envInt(10, 60_000).default(250),
  // Fits the longest line Nginx can write, or a client could hide its own
  // request by making its line too long to read. escape=default writes a byte
  // as up to 4 characters; with the sizes set in default.conf.template:
  // method and path within one 8k request-line buffer (4 x 8192), pool and
  // release within the 4k upstream header buffer (4 x 4096), plus under 1 KiB
  // for keys and Nginx-made values: about 50 KB, rounded up to 64 KiB.
  // test/watcher/core/lineLimit.test.ts recomputes it from the template.
  MAX_LINE_BYTES: envInt(1024, 1_048_576).default(65_536),
  SLACK_CONNECT_TIMEOUT_MS: envInt(100, 60_000).default(3000),
  SLACK_TIMEOUT_MS: envInt(100, 120_000).default(5000),
  SLACK_RETRY_FOR_SEC: envInt(0, 86_400).default(900),
  SLACK_QUEUE_SIZE: envInt(1, 10_000).default(100),
  // The wait between two attempts of one delivery (Slack and Alertmanager), doubling from the first to the cap,
  // with jitter; a Retry-After over it wins. The defaults suit Slack; a test may shrink them to run an outage fast.
  RETRY_BACKOFF_BASE_MS: envInt(100, 60_000).default(RETRY_BACKOFF.baseMs),
  RETRY_BACKOFF_MAX_MS: envInt(100, 600_000).default(RETRY_BACKOFF.maxMs),
  PLANNED_SWITCH_TTL_SEC: envInt(1, 86_400).default(120),
  // Incidents to Alertmanager too (notify/alertmanager.ts); empty: Slack only, as before.
  ALERTMANAGER_URL: alertmanagerUrls.default([]),
  // The `stack` label of every alert and the silence of `make maintenance-on`: the same on every watcher of one stack.
  ALERTMANAGER_STACK: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'expected 1 to 64 of A-Z a-z 0-9 . _ -' })
    .default('bluegreen'),
  // The `instance` label: which watcher reports an alert, so one watcher's all-clear cannot resolve another's
  // failure. Keep it stable across restarts (Compose sets the service name, Kubernetes the pod name).
  ALERTMANAGER_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'expected 1 to 64 of A-Z a-z 0-9 . _ -' })
    .default(hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'watcher'),
  // Open alerts are posted again this often, each lasting 4 of these (endsAt), as Prometheus does.
  ALERTMANAGER_RESEND_SEC: envInt(1, 3_600).default(60),
  ALERTMANAGER_TIMEOUT_MS: envInt(100, 120_000).default(5000),
  // How long a resolution is retried while an Alertmanager is unreachable; open alerts are retried while open.
  ALERTMANAGER_RETRY_FOR_SEC: envInt(0, 86_400).default(900),
  // Anything but an http(s) URL gives no link (main.ts warns): Slack cannot open a relative path.
  RUNBOOK_URL: z.string().regex(/^\S*$/, { message: 'expected a URL without spaces' }).default(''),
  // A dead-man's switch (healthchecks.io's convention): pinged while healthy, <url>/fail when not; silence when dead.
  HEARTBEAT_URL: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  HEARTBEAT_INTERVAL_SEC: envInt(1, 3_600).default(60),
  SHUTDOWN_TIMEOUT_MS: envInt(0, 60_000).default(5000),
  LOG_LEVEL: logLevel,
});

/**
 * Settings that only make sense together: checked once each is valid on its
 * own, so a bad token is one line, not that line and a missing channel.
 */
export function requireTogether<S extends z.ZodType<{ SLACK_BOT_TOKEN?: string | undefined; SLACK_CHANNEL?: string | undefined }>>(schema: S): S {
  return schema.refine((c) => c.SLACK_BOT_TOKEN === undefined || c.SLACK_CHANNEL !== undefined, {
    path: ['SLACK_CHANNEL'],
    message: 'required with SLACK_BOT_TOKEN: the ID of the channel the bot posts in',
    when: (payload) => payload.issues.length === 0,
  });
}

export const watcherConfigSchema = requireTogether(watcherConfigFields).refine((c) => c.RETRY_BACKOFF_MAX_MS >= c.RETRY_BACKOFF_BASE_MS, {
  path: ['RETRY_BACKOFF_MAX_MS'],
  message: 'must be at least RETRY_BACKOFF_BASE_MS: the cap of a wait that starts there',
  when: (payload) => payload.issues.length === 0,
});

export type WatcherConfig = z.output<typeof watcherConfigSchema>;

/** Exits 1 with one stderr line per problem when the environment is invalid. */
export function loadWatcherConfig(env?: Env) {
  return loadConfig({ service: 'watcher', schema: watcherConfigSchema, secrets: SECRET_SETTINGS, env });
}

/** What the pipeline takes from the config, in its units: one mapping for main and the benchmarks. */
export interface PipelineSettings {
  windowSize: number;
  poolWindowSize: number;
  thresholdPercent: number;
  recoveryHoldMs: number;
  cooldownMs: number;
  remindMs: number;
  queueSize: number;
  /** Undefined: alerts carry no runbook link. */
  runbookUrl: string | undefined;
}

type SettingsConfig = Pick<
  WatcherConfig,
  | 'WINDOW_SIZE'
  | 'POOL_WINDOW_SIZE'
  | 'ERROR_RATE_THRESHOLD'
  | 'RECOVERY_HOLD_SEC'
  | 'ALERT_COOLDOWN_SEC'
  | 'ALERT_REMIND_SEC'
  | 'SLACK_QUEUE_SIZE'
  | 'RUNBOOK_URL'
>;

/** The pipeline's settings from the watcher's defaults (with `env` over them): what the benchmarks measure and the gallery shows. */
export function defaultPipelineSettings(env: Partial<Record<keyof SettingsConfig, string>> = {}): PipelineSettings {
  const fields = watcherConfigFields.pick({
    WINDOW_SIZE: true,
    POOL_WINDOW_SIZE: true,
    ERROR_RATE_THRESHOLD: true,
    RECOVERY_HOLD_SEC: true,
    ALERT_COOLDOWN_SEC: true,
    ALERT_REMIND_SEC: true,
    SLACK_QUEUE_SIZE: true,
    RUNBOOK_URL: true,
  });
  return pipelineSettings(fields.parse(env));
}

export function pipelineSettings(config: SettingsConfig): PipelineSettings {
  return {
    windowSize: config.WINDOW_SIZE,
    poolWindowSize: config.POOL_WINDOW_SIZE,
    thresholdPercent: config.ERROR_RATE_THRESHOLD,
    recoveryHoldMs: config.RECOVERY_HOLD_SEC * 1000,
    cooldownMs: config.ALERT_COOLDOWN_SEC * 1000,
    remindMs: config.ALERT_REMIND_SEC * 1000,
    queueSize: config.SLACK_QUEUE_SIZE,
    runbookUrl: runbookBase(config.RUNBOOK_URL),
  };
}

/** RUNBOOK_URL when Slack can open it: an absolute http(s) URL. */
export function runbookBase(value: string): string | undefined {
  return /^https?:\/\/[^/\s]/i.test(value) ? value : undefined;
}
