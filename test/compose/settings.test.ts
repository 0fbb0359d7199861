// Each setting's default is said once, in .env.example (what `make` gives a
// new .env), and everything else that names a default is tied to it here, by
// name: a `${NAME:-value}` of docker-compose.yml (for `docker compose` run
// without an .env), and the default of the program that reads NAME when
// Compose passes it on empty (`${NAME:-}`): the watcher's and the app's zod
// schemas, Nginx's and Alertmanager's entrypoints. And the watcher's
// container gets every setting of its schema, from one list that this test
// holds to the schema. And docs/configuration.md shows the same defaults.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { appSchema } from '../../app/config.js';
import { watcherConfigSchema } from '../../watcher/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const compose = read('docker-compose.yml');
const example = dotenv.parse(read('.env.example'));

/** Every `${NAME:-default}` in `text` (the innermost of nested ones), with its line. */
function fallbacks(text: string): { name: string; value: string; line: number }[] {
  return text.split('\n').flatMap((source, i) =>
    [...source.matchAll(/\$\{([A-Z][A-Z0-9_]*):-([^}$]*)\}/g)].map(([, name, value]) => ({ name: name!, value: value!, line: i + 1 })),
  );
}

/** The default a schema gives `name` when it is unset, as the string .env.example would hold. */
function schemaDefault(shape: Record<string, z.ZodType>, name: string): string | undefined {
  const field = shape[name];
  if (field === undefined) return undefined;
  const parsed = field.safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? String(parsed.data) : undefined;
}

/** Where a program that Compose passes NAME to (empty when unset) takes its default from. */
function programDefaults(): Map<string, { value: string; from: string }> {
  const found = new Map<string, { value: string; from: string }>();
  const scripts = [
    ...readdirSync(path.join(ROOT, 'nginx/docker-entrypoint.d')).map((f) => `nginx/docker-entrypoint.d/${f}`),
    'monitoring/alertmanager-entrypoint.sh',
  ];
  for (const file of scripts) for (const { name, value } of fallbacks(read(file))) found.set(name, { value, from: file });
  for (const [schema, from] of [
    [watcherConfigSchema.shape, 'watcher/config.ts'],
    [appSchema.shape, 'app/config.ts'],
  ] as const) {
    for (const name of Object.keys(schema)) {
      const value = schemaDefault(schema as Record<string, z.ZodType>, name);
      if (value !== undefined) found.set(name, { value, from });
    }
  }
  return found;
}

/** The keys of the watcher's `environment:` mapping (the anchor both watchers share). */
function watcherEnvironment(): string[] {
  const after = compose.split('environment: &watcher-environment\n')[1];
  if (after === undefined) throw new Error('docker-compose.yml: no `environment: &watcher-environment`');
  const keys: string[] = [];
  for (const line of after.split('\n')) {
    if (/^ {6}#/.test(line)) continue;
    const m = /^ {6}([A-Z][A-Z0-9_]*):/.exec(line);
    if (m === null) break;
    keys.push(m[1]!);
  }
  return keys;
}

describe('settings said once', () => {
  it("every default docker-compose.yml gives a setting is .env.example's", () => {
    const drift = fallbacks(compose)
      .filter(({ value }) => value !== '')
      .filter(({ name, value }) => example[name] !== value)
      .map(({ name, value, line }) => `docker-compose.yml:${line}: ${name} falls back to "${value}", .env.example says ${example[name] === undefined ? 'nothing' : `"${example[name]}"`}`);
    expect(drift).toEqual([]);
  });

  it("a setting Compose passes on empty has .env.example's value as its program's default", () => {
    const defaults = programDefaults();
    // `KEY: ${NAME:-}` hands NAME to a program that reads KEY (APP_SHUTDOWN_TIMEOUT_MS is the pools' SHUTDOWN_TIMEOUT_MS).
    const passedOn = new Map<string, string>();
    for (const line of compose.split('\n')) {
      const renamed = /^\s+([A-Z][A-Z0-9_]*): \$\{([A-Z][A-Z0-9_]*):-\}\s*$/.exec(line);
      if (renamed !== null) passedOn.set(renamed[2]!, renamed[1]!);
      else for (const { name, value } of fallbacks(line)) if (value === '') passedOn.set(name, name);
    }
    const drift: string[] = [];
    for (const [name, read] of passedOn) {
      const wanted = example[name];
      if (wanted === undefined || wanted === '') continue;
      const actual = defaults.get(read);
      if (actual === undefined) drift.push(`${name}: .env.example says "${wanted}", and no program that reads it has a default`);
      else if (actual.value !== wanted) drift.push(`${name}: .env.example says "${wanted}", ${actual.from} "${actual.value}"`);
    }
    expect(drift).toEqual([]);
  });

  it('the watcher container gets every setting of its schema, and nothing else', () => {
    const given = watcherEnvironment();
    const schema = Object.keys(watcherConfigSchema.shape);
    expect(given.filter((k) => !schema.includes(k)), 'in docker-compose.yml, not in watcher/config.ts').toEqual([]);
    expect(schema.filter((k) => !given.includes(k)), 'in watcher/config.ts, not in docker-compose.yml').toEqual([]);
  });

  it("every file that cannot read WATCHER_PORT holds its default: Prometheus's target, the Kubernetes manifests", () => {
    const port = example.WATCHER_PORT;
    expect(port).toBe(schemaDefault(watcherConfigSchema.shape as Record<string, z.ZodType>, 'WATCHER_PORT'));
    expect(read('monitoring/prometheus.yml'), 'monitoring/prometheus.yml').toContain(`"alert_watcher:${port}"`);
    expect(read('deploy/kubernetes/kustomization.yaml'), 'deploy/kubernetes/kustomization.yaml').toContain(`WATCHER_PORT=${port}`);
  });

  it('docs/configuration.md shows each default as .env.example or the program that reads it has it', () => {
    const defaults = programDefaults();
    const drift: string[] = [];
    read('docs/configuration.md')
      .split('\n')
      .forEach((line, i) => {
        const row = /^\| `([A-Z][A-Z0-9_]*)` \| `([^`]*)` \|/.exec(line);
        if (row === null) return;
        const [, name, shown] = row as unknown as [string, string, string];
        const source = example[name] ? { value: example[name], from: '.env.example' } : defaults.get(name);
        if (source === undefined) drift.push(`docs/configuration.md:${i + 1}: ${name} shows "${shown}", and nothing gives it a default`);
        else if (source.value !== shown) drift.push(`docs/configuration.md:${i + 1}: ${name} shows "${shown}", ${source.from} says "${source.value}"`);
      });
    expect(drift).toEqual([]);
  });

  describe('the checks themselves', () => {
    it('read nested fallbacks innermost, and empty ones as passed on', () => {
      expect(fallbacks('image: ${BLUE_IMAGE:-bluegreen-node:${IMAGE_TAG:-local}}\nx: ${LOG_LEVEL:-}')).toEqual([
        { name: 'IMAGE_TAG', value: 'local', line: 1 },
        { name: 'LOG_LEVEL', value: '', line: 2 },
      ]);
    });

    it('take a schema default as .env.example would write it, and none for a setting without one', () => {
      const shape = watcherConfigSchema.shape as Record<string, z.ZodType>;
      expect(schemaDefault(shape, 'MAINTENANCE_MODE')).toBe('false');
      expect(schemaDefault(shape, 'WINDOW_SIZE')).toBe('200');
      expect(schemaDefault(shape, 'SLACK_WEBHOOK_URL')).toBeUndefined();
      expect(schemaDefault(shape, 'NO_SUCH_SETTING')).toBeUndefined();
    });
  });
});
