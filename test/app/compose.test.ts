// The app's settings reach the pools under Compose: a variable of the app's
// schema that no pool service passes on would be documented and ignored.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../common/config.js';
import { appSchema } from '../../app/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
const example = dotenv.parse(readFileSync(path.join(ROOT, '.env.example')));
// Through Nginx a held request is let go at Nginx's read timeout whatever the
// hold (docs/configuration.md): not a stack setting.
const NOT_FROM_COMPOSE = ['CHAOS_HOLD_MS'];
// `docker stop` and Compose send SIGKILL this long after SIGTERM.
const DOCKER_STOP_GRACE_MS = 10_000;

const poolEnv = (service: string): Record<string, string> => compose.services[service].environment;

describe.each(['app_blue', 'app_green'])('%s in docker-compose.yml', (service) => {
  it('gets every setting of the app schema but the chaos hold', () => {
    const expected = Object.keys(appSchema.shape).filter((k) => !NOT_FROM_COMPOSE.includes(k));
    expect(Object.keys(poolEnv(service)).sort()).toEqual(expected.sort());
  });

  it('takes its drain bound from APP_SHUTDOWN_TIMEOUT_MS, the watcher keeping its own', () => {
    expect(poolEnv(service).SHUTDOWN_TIMEOUT_MS).toBe('${APP_SHUTDOWN_TIMEOUT_MS:-}');
  });
});

describe('APP_SHUTDOWN_TIMEOUT_MS', () => {
  const drainBound = (value: string) => parseConfig(appSchema, { SHUTDOWN_TIMEOUT_MS: value });

  it("defaults in .env.example to the schema's default, inside Docker's stop grace period", () => {
    const { SHUTDOWN_TIMEOUT_MS } = appSchema.parse({});
    expect(drainBound(example.APP_SHUTDOWN_TIMEOUT_MS!)).toMatchObject({ ok: true, config: { SHUTDOWN_TIMEOUT_MS } });
    expect(SHUTDOWN_TIMEOUT_MS).toBeLessThan(DOCKER_STOP_GRACE_MS);
  });

  it('left empty in .env (Compose then passes ""), is the default', () => {
    expect(drainBound('')).toMatchObject({ ok: true, config: { SHUTDOWN_TIMEOUT_MS: 5000 } });
  });

  it('refuses a duration with a unit, on one line naming the variable', () => {
    expect(drainBound('5s')).toEqual({
      ok: false,
      problems: ['SHUTDOWN_TIMEOUT_MS: expected a whole number from 1 to 600000 (got "5s")'],
    });
  });
});
