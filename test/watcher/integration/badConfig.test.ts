// Every watcher variable, set wrong, stops the real daemon at start: exit 1,
// one `config error:` line naming the variable, and nothing served or read.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watcherConfigSchema } from '../../../watcher/config.js';

const MAIN = resolve('dist/watcher/main.js');
const SECRET = 's3cr3tW3bh00kT0k3n';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'watcher-badconfig-'));
  writeFileSync(join(dir, 'a-file'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// One wrong value per variable; the table must cover the whole schema.
const BAD: Record<string, () => string> = {
  SLACK_WEBHOOK_URL: () => `hooks.slack.com/services/T/B/${SECRET}`,
  SLACK_BOT_TOKEN: () => `xoxp-${SECRET}`,
  SLACK_CHANNEL: () => '#alerts',
  SLACK_API_URL: () => 'slack.com/api',
  ACTIVE_POOL: () => 'red',
  ERROR_RATE_THRESHOLD: () => '0',
  WINDOW_SIZE: () => '1.5',
  POOL_WINDOW_SIZE: () => '9',
  RECOVERY_HOLD_SEC: () => 'abc',
  ALERT_COOLDOWN_SEC: () => '-1',
  ALERT_REMIND_SEC: () => '1e3',
  MAINTENANCE_MODE: () => 'maybe',
  LOG_PATH: () => dir,
  ACTIVE_POOL_FILE: () => dir,
  CONTROL_DIR: () => join(dir, 'a-file', 'control'),
  WATCHER_PORT: () => '70000',
  LOG_POLL_INTERVAL_MS: () => '5',
  MAX_LINE_BYTES: () => '100',
  SLACK_CONNECT_TIMEOUT_MS: () => 'soon',
  SLACK_TIMEOUT_MS: () => '0',
  SLACK_RETRY_FOR_SEC: () => '-5',
  SLACK_QUEUE_SIZE: () => '0',
  RETRY_BACKOFF_BASE_MS: () => '50',
  RETRY_BACKOFF_MAX_MS: () => '1e6',
  PLANNED_SWITCH_TTL_SEC: () => '0',
  ALERTMANAGER_URL: () => `http://ops:${SECRET}@alertmanager:9093,ftp://am-2`,
  ALERTMANAGER_STACK: () => 'my stack',
  ALERTMANAGER_INSTANCE: () => 'watcher/a',
  ALERTMANAGER_RESEND_SEC: () => '0',
  ALERTMANAGER_TIMEOUT_MS: () => '10',
  ALERTMANAGER_RETRY_FOR_SEC: () => '-1',
  RUNBOOK_URL: () => 'see the wiki',
  HEARTBEAT_URL: () => `ftp://hc-ping.example/${SECRET}`,
  HEARTBEAT_INTERVAL_SEC: () => '0',
  SHUTDOWN_TIMEOUT_MS: () => '1e9',
  LOG_LEVEL: () => 'loud',
};

async function run(env: Record<string, string>) {
  try {
    // cwd is the temp dir, so no developer .env is read; the log path would be followed if it got that far.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', LOG_PATH: join(dir, 'access.log'), CONTROL_DIR: join(dir, 'control'), ...env },
      timeout: 10_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('watcher bad configuration', () => {
  it('has a bad value for every variable of the schema', () => {
    expect(Object.keys(BAD).sort()).toEqual(Object.keys(watcherConfigSchema.shape).sort());
  });

  it.each(Object.keys(BAD))('%s: exits 1 with one clear line, before reading or serving anything', async (key) => {
    const { code, stdout, stderr } = await run({ [key]: BAD[key]!() });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^watcher: config error: ${key}: \\S.*`))]);
    // Nothing started: no log line at all (the effective config is logged only once valid).
    expect(stdout).toBe('');
    expect(stderr).not.toContain(SECRET);
  });
});
