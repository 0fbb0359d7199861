import { describe, expect, it } from 'vitest';
import { parseConfig, redactConfig } from '../../common/config.js';
import { APP_SECRETS, appSchema } from '../../app/config.js';

describe('appSchema', () => {
  it('has defaults for everything', () => {
    expect(parseConfig(appSchema, {})).toEqual({
      ok: true,
      config: {
        APP_POOL: 'blue',
        RELEASE_ID: 'dev',
        PORT: 3000,
        CHAOS_HOLD_MS: 30_000,
        SHUTDOWN_TIMEOUT_MS: 5000,
        LOG_LEVEL: 'info',
      },
    });
  });

  it('coerces the values it is given', () => {
    const r = parseConfig(appSchema, {
      APP_POOL: 'green',
      RELEASE_ID: 'v1.2.3 (abc123)',
      PORT: '8081',
      CHAOS_HOLD_MS: '600000',
      SHUTDOWN_TIMEOUT_MS: '250',
      LOG_LEVEL: 'debug',
    });
    expect(r).toEqual({
      ok: true,
      config: {
        APP_POOL: 'green',
        RELEASE_ID: 'v1.2.3 (abc123)',
        PORT: 8081,
        CHAOS_HOLD_MS: 600_000,
        SHUTDOWN_TIMEOUT_MS: 250,
        LOG_LEVEL: 'debug',
      },
    });
  });

  it('reports each bad value on its own line', () => {
    const r = parseConfig(appSchema, {
      APP_POOL: 'red',
      RELEASE_ID: 'rel\u00e9',
      PORT: '70000',
      CHAOS_HOLD_MS: '0',
      SHUTDOWN_TIMEOUT_MS: 'soon',
      LOG_LEVEL: 'loud',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.split(':')[0])).toEqual([
      'APP_POOL',
      'RELEASE_ID',
      'PORT',
      'CHAOS_HOLD_MS',
      'SHUTDOWN_TIMEOUT_MS',
      'LOG_LEVEL',
    ]);
    expect(r.problems[1]).toMatch(/header/);
  });

  it('rejects a CHAOS_HOLD_MS above ten minutes', () => {
    const r = parseConfig(appSchema, { CHAOS_HOLD_MS: '600001' });
    expect(r.ok).toBe(false);
  });

  it('takes a bearer-token CHAOS_TOKEN and shows it only redacted', () => {
    const token = 'Zm9vYmFy-0123456789_~+/.==';
    const r = parseConfig(appSchema, { CHAOS_TOKEN: token }, APP_SECRETS);
    expect(r).toMatchObject({ ok: true, config: { CHAOS_TOKEN: token } });
    if (!r.ok) return;
    const shown = JSON.stringify(redactConfig(r.config, APP_SECRETS));
    expect(shown).toContain('"CHAOS_TOKEN":"[redacted]"');
    expect(shown).not.toContain('Zm9v');
  });
});
