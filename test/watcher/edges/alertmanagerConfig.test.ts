// ALERTMANAGER_URL and friends in the watcher's schema: one or several URLs,
// one clear line per problem, credentials never in the logged config, and
// nothing changed when it is empty.
import { describe, expect, it } from 'vitest';
import { parseConfig, redactConfig } from '../../../common/config.js';
import { SECRET_SETTINGS, watcherConfigFields } from '../../../watcher/config.js';

const schema = watcherConfigFields.pick({
  SLACK_WEBHOOK_URL: true,
  ALERTMANAGER_URL: true,
  ALERTMANAGER_STACK: true,
  ALERTMANAGER_RESEND_SEC: true,
});

describe('Alertmanager settings', () => {
  it('are off by default, and an empty value means the default', () => {
    for (const env of [{}, { ALERTMANAGER_URL: '' }, { ALERTMANAGER_URL: '  ' }]) {
      expect(parseConfig(schema, env, SECRET_SETTINGS)).toEqual({
        ok: true,
        config: { ALERTMANAGER_URL: [], ALERTMANAGER_STACK: 'bluegreen', ALERTMANAGER_RESEND_SEC: 60 },
      });
    }
  });

  it('take several URLs, separated by commas or spaces, with no Slack webhook', () => {
    const r = parseConfig(schema, { ALERTMANAGER_URL: 'http://am-1:9093, https://am-2.example:9093/prefix  http://am-3:9093' }, SECRET_SETTINGS);
    expect(r).toMatchObject({ ok: true, config: { ALERTMANAGER_URL: ['http://am-1:9093', 'https://am-2.example:9093/prefix', 'http://am-3:9093'] } });
  });

  it('report each bad value on one line, hiding a URL that may hold credentials', () => {
    const r = parseConfig(schema, { ALERTMANAGER_URL: 'http://am:9093,ftp://x', ALERTMANAGER_STACK: 'a b', ALERTMANAGER_RESEND_SEC: '0' }, SECRET_SETTINGS);
    expect(r).toEqual({
      ok: false,
      problems: [
        'ALERTMANAGER_URL: expected http(s) URLs separated by commas; URL 2 of 2 is not one (got a value, hidden)',
        'ALERTMANAGER_STACK: expected 1 to 64 of A-Z a-z 0-9 . _ - (got "a b")',
        'ALERTMANAGER_RESEND_SEC: expected a whole number from 1 to 3600 (got "0")',
      ],
    });
  });

  it('show scheme and host only in the logged effective config', () => {
    const r = parseConfig(schema, { ALERTMANAGER_URL: 'http://ops:s3cret@am-1:9093,http://am-2:9093' }, SECRET_SETTINGS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const logged = redactConfig(r.config, SECRET_SETTINGS);
    expect(logged.ALERTMANAGER_URL).toEqual(['http://am-1:9093/[redacted]', 'http://am-2:9093/[redacted]']);
    expect(JSON.stringify(logged)).not.toContain('s3cret');
  });
});

describe('monitoring/alertmanager.yml', () => {
  it("groups by the incident's labels the watcher posts, never by the watcher's instance", async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { GROUP_BY, INSTANCE_LABEL } = await import('../../../watcher/notify/alertmanagerAlert.js');
    const config = parse(readFileSync('monitoring/alertmanager.yml', 'utf8')) as { route: { group_by: string[] } };
    expect(config.route.group_by).toEqual([...GROUP_BY]);
    expect(config.route.group_by).not.toContain(INSTANCE_LABEL);
  });
});
