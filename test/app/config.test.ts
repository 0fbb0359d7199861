import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../common/config.js';
import { appSchema } from '../../app/config.js';

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
});
