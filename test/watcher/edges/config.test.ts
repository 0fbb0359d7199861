import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig, redactConfig } from '../../../common/config.js';
import { pipelineSettings, runbookBase, SECRET_SETTINGS, watcherConfigSchema } from '../../../watcher/config.js';

const parse = (env: Record<string, string>) => parseConfig(watcherConfigSchema, env, SECRET_SETTINGS);

describe('watcher config', () => {
  it('has a default for everything but the webhook, the bot token and its channel', () => {
    const r = parse({});
    expect(r).toEqual({
      ok: true,
      config: {
        SLACK_API_URL: 'https://slack.com/api',
        ACTIVE_POOL: 'blue',
        ERROR_RATE_THRESHOLD: 2,
        WINDOW_SIZE: 200,
        POOL_WINDOW_SIZE: 100,
        RECOVERY_HOLD_SEC: 30,
        ALERT_COOLDOWN_SEC: 300,
        ALERT_REMIND_SEC: 3600,
        MAINTENANCE_MODE: false,
        LOG_PATH: '/var/log/bluegreen/access.log',
        ACTIVE_POOL_FILE: '/var/log/bluegreen/active-pool',
        CONTROL_DIR: '/var/lib/watcher',
        WATCHER_PORT: 9100,
        LOG_POLL_INTERVAL_MS: 250,
        MAX_LINE_BYTES: 65_536,
        SLACK_CONNECT_TIMEOUT_MS: 3000,
        SLACK_TIMEOUT_MS: 5000,
        SLACK_RETRY_FOR_SEC: 900,
        SLACK_QUEUE_SIZE: 100,
        RETRY_BACKOFF_BASE_MS: 1000,
        RETRY_BACKOFF_MAX_MS: 10_000,
        PLANNED_SWITCH_TTL_SEC: 120,
        ALERTMANAGER_URL: [],
        ALERTMANAGER_STACK: 'bluegreen',
        // The host name, made label-safe.
        ALERTMANAGER_INSTANCE: hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'watcher',
        ALERTMANAGER_RESEND_SEC: 60,
        ALERTMANAGER_TIMEOUT_MS: 5000,
        ALERTMANAGER_RETRY_FOR_SEC: 900,
        RUNBOOK_URL: '',
        HEARTBEAT_INTERVAL_SEC: 60,
        SHUTDOWN_TIMEOUT_MS: 5000,
        LOG_LEVEL: 'info',
      },
    });
  });

  it('accepts https and (for local receivers) http webhooks, and fractional thresholds', () => {
    for (const url of ['https://hooks.slack.com/services/T/B/X', 'http://127.0.0.1:9999/hook']) {
      const r = parse({ SLACK_WEBHOOK_URL: url, ERROR_RATE_THRESHOLD: '0.5', ALERT_COOLDOWN_SEC: '0' });
      expect(r.ok && r.config).toMatchObject({ SLACK_WEBHOOK_URL: url, ERROR_RATE_THRESHOLD: 0.5, ALERT_COOLDOWN_SEC: 0 });
    }
  });

  it('reports one line per problem, naming the variable', () => {
    const r = parse({
      ERROR_RATE_THRESHOLD: 'abc',
      ACTIVE_POOL: 'red',
      WINDOW_SIZE: '0',
      ALERT_COOLDOWN_SEC: '-1',
      MAINTENANCE_MODE: 'maybe',
      WATCHER_PORT: '70000',
      RECOVERY_HOLD_SEC: 'soon',
      ALERT_REMIND_SEC: '-5',
      POOL_WINDOW_SIZE: '5',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'ACTIVE_POOL',
      'ALERT_COOLDOWN_SEC',
      'ALERT_REMIND_SEC',
      'ERROR_RATE_THRESHOLD',
      'MAINTENANCE_MODE',
      'POOL_WINDOW_SIZE',
      'RECOVERY_HOLD_SEC',
      'WATCHER_PORT',
      'WINDOW_SIZE',
    ]);
    expect(r.problems.find((p) => p.startsWith('RECOVERY_HOLD_SEC'))).toBe(
      'RECOVERY_HOLD_SEC: expected a whole number from 0 to 3600 (got "soon")',
    );
    expect(r.problems.find((p) => p.startsWith('ACTIVE_POOL'))).toMatch(/blue.*green.*\(got "red"\)/);
  });

  it.each(['abc', '0', '100.5', '-3'])('rejects ERROR_RATE_THRESHOLD=%s, saying what it expects', (value) => {
    expect(parse({ ERROR_RATE_THRESHOLD: value })).toEqual({
      ok: false,
      problems: [`ERROR_RATE_THRESHOLD: expected a percentage above 0, at most 100 (got "${value}")`],
    });
  });

  it.each(['ftp://example.com/hook', 'hooks.slack.com/services/T/B/s3cret'])(
    'rejects webhook %s without echoing it',
    (url) => {
      const r = parse({ SLACK_WEBHOOK_URL: url });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems).toEqual(['SLACK_WEBHOOK_URL: expected an http(s) URL (got a value, hidden)']);
    },
  );

  it('treats HEARTBEAT_URL as a secret: a bad one is not echoed, a good one is logged by host only', () => {
    const r = parse({ HEARTBEAT_URL: 'hc-ping.com/0b7c9e2a-s3cret' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(['HEARTBEAT_URL: expected an http(s) URL (got a value, hidden)']);
    const good = parse({ HEARTBEAT_URL: 'https://hc-ping.com/0b7c9e2a-s3cret', HEARTBEAT_INTERVAL_SEC: '30' });
    expect(good.ok && redactConfig(good.config, SECRET_SETTINGS)).toMatchObject({
      HEARTBEAT_URL: 'https://hc-ping.com/[redacted]',
      HEARTBEAT_INTERVAL_SEC: 30,
    });
  });
});

describe('the bot-token mode', () => {
  it('needs the channel with the token, takes a channel ID only, and hides the token whole', () => {
    const token = 'xoxb-1234-5678-s3cretT0ken';
    const r = parse({ SLACK_BOT_TOKEN: token });
    expect(r.ok || r.problems).toEqual(['SLACK_CHANNEL: required with SLACK_BOT_TOKEN: the ID of the channel the bot posts in']);
    const named = parse({ SLACK_BOT_TOKEN: token, SLACK_CHANNEL: '#alerts' });
    expect(named.ok || named.problems).toEqual([
      'SLACK_CHANNEL: expected a channel ID such as C0123456789 (at the bottom of the channel\'s details), not a #name (got "#alerts")',
    ]);
    const user = parse({ SLACK_BOT_TOKEN: 'xoxp-a-user-token' });
    expect(user.ok || user.problems).toEqual([expect.stringMatching(/^SLACK_BOT_TOKEN: expected the app's Bot User OAuth Token, xoxb-… \(got a value, hidden\)$/)]);
    const good = parse({ SLACK_BOT_TOKEN: token, SLACK_CHANNEL: 'C0123456789' });
    expect(good.ok && redactConfig(good.config, SECRET_SETTINGS)).toMatchObject({
      SLACK_BOT_TOKEN: '[redacted]',
      SLACK_CHANNEL: 'C0123456789',
      SLACK_API_URL: 'https://slack.com/api',
    });
  });
});

describe('the retry backoff', () => {
  it('takes a cap no lower than the first wait', () => {
    const r = parse({ RETRY_BACKOFF_BASE_MS: '5000', RETRY_BACKOFF_MAX_MS: '2000' });
    expect(r.ok || r.problems).toEqual(['RETRY_BACKOFF_MAX_MS: must be at least RETRY_BACKOFF_BASE_MS: the cap of a wait that starts there (got "2000")']);
    const equal = parse({ RETRY_BACKOFF_BASE_MS: '2000', RETRY_BACKOFF_MAX_MS: '2000' });
    expect(equal.ok && equal.config).toMatchObject({ RETRY_BACKOFF_BASE_MS: 2000, RETRY_BACKOFF_MAX_MS: 2000 });
  });
});

describe('RUNBOOK_URL', () => {
  it('links only to an absolute http(s) URL: Slack cannot open a relative path', () => {
    expect(runbookBase('https://github.com/acme/bluegreen/blob/main/docs/runbook.md')).toBe(
      'https://github.com/acme/bluegreen/blob/main/docs/runbook.md',
    );
    expect(runbookBase('http://wiki.internal/runbook#top')).toBe('http://wiki.internal/runbook#top');
    for (const value of ['', 'runbook.md', 'docs/runbook.md', 'file:///srv/runbook.md', 'https://', 'wiki.internal/runbook']) {
      expect(runbookBase(value), value).toBeUndefined();
    }
    expect(pipelineSettings(parseOk({ RUNBOOK_URL: 'runbook.md' })).runbookUrl).toBeUndefined();
    expect(pipelineSettings(parseOk({})).runbookUrl).toBeUndefined();
  });
});

function parseOk(env: Record<string, string>) {
  const r = parse(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}
