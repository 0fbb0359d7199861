import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envBool, envInt, parseConfig, poolName, redactConfig } from '../../common/config.js';

const schema = z.object({
  ACTIVE_POOL: poolName.default('blue'),
  WINDOW_SIZE: envInt(1, 10_000).default(200),
  MAINTENANCE_MODE: envBool.default(false),
  SLACK_WEBHOOK_URL: z.url().optional(),
});

describe('parseConfig', () => {
  it('applies defaults and treats empty strings as unset', () => {
    const r = parseConfig(schema, { ACTIVE_POOL: '', WINDOW_SIZE: '  ' });
    expect(r).toEqual({ ok: true, config: { ACTIVE_POOL: 'blue', WINDOW_SIZE: 200, MAINTENANCE_MODE: false } });
  });

  it('coerces values', () => {
    const r = parseConfig(schema, { ACTIVE_POOL: 'green', WINDOW_SIZE: '50', MAINTENANCE_MODE: 'yes' });
    expect(r.ok && r.config).toMatchObject({ ACTIVE_POOL: 'green', WINDOW_SIZE: 50, MAINTENANCE_MODE: true });
  });

  it('reports one line per problem, naming the key and the value', () => {
    const r = parseConfig(schema, { ACTIVE_POOL: 'red', WINDOW_SIZE: '0', MAINTENANCE_MODE: 'maybe' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(3);
    expect(r.problems[0]).toMatch(/^ACTIVE_POOL: .*blue.*green.*\(got "red"\)$/);
    expect(r.problems[1]).toMatch(/^WINDOW_SIZE: .*\(got "0"\)$/);
    expect(r.problems[2]).toMatch(/^MAINTENANCE_MODE: expected true or false \(got "maybe"\)$/);
  });

  it('never echoes a secret value in a problem line', () => {
    const r = parseConfig(schema, { SLACK_WEBHOOK_URL: 'not a url T0/B0/secret' }, ['SLACK_WEBHOOK_URL']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.join('\n')).not.toContain('secret');
    expect(r.problems[0]).toMatch(/^SLACK_WEBHOOK_URL: .*hidden/);
  });
});

describe('redactConfig', () => {
  it('keeps the scheme and host of a secret URL only', () => {
    const out = redactConfig(
      { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/XYZ', WINDOW_SIZE: 200 },
      ['SLACK_WEBHOOK_URL'],
    );
    expect(out).toEqual({ SLACK_WEBHOOK_URL: 'https://hooks.slack.com/[redacted]', WINDOW_SIZE: 200 });
  });

  it('leaves an unset secret unset', () => {
    expect(redactConfig({ SLACK_WEBHOOK_URL: undefined }, ['SLACK_WEBHOOK_URL'])).toEqual({
      SLACK_WEBHOOK_URL: undefined,
    });
  });
});

describe('envInt', () => {
  const port = z.object({ PORT: envInt(1, 65_535) });
  it.each(['0x10', '1e3', '0b1', '12.0', '80 80', '-1', '65536'])('rejects %j, naming the range', (value) => {
    expect(parseConfig(port, { PORT: value })).toEqual({
      ok: false,
      problems: [`PORT: expected a whole number from 1 to 65535 (got ${JSON.stringify(value)})`],
    });
  });

  it('accepts plain digits and keeps a problem on one line even for a value with a newline', () => {
    expect(parseConfig(port, { PORT: '08080' })).toEqual({ ok: true, config: { PORT: 8080 } });
    const r = parseConfig(port, { PORT: '80\n# 81' });
    expect(r.ok === false && r.problems).toEqual(['PORT: expected a whole number from 1 to 65535 (got "80\\n# 81")']);
  });
});
