// Every container's own log is bounded (issue 14): each service of the Compose
// file, the optional profile's too, rotates its json-file log at
// CONTAINER_LOG_MAX_SIZE x CONTAINER_LOG_MAX_FILE, and the file's fallbacks
// for an .env without those lines are .env.example's defaults.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from '../e2e/support/docker.js';

const enabled = requireDockerOrSkip('compose logging bounds');

interface ComposeConfig {
  services: Record<string, { logging?: { driver?: string; options?: Record<string, string> } }>;
}

/** The Compose file as Compose reads it with `env` as its .env, every profile included. */
function composeConfig(env: string): ComposeConfig {
  const file = join(mkdtempSync(join(tmpdir(), 'bg-compose-')), '.env');
  writeFileSync(file, env);
  const json = execFileSync('docker', ['compose', '--env-file', file, '--profile', 'monitoring', 'config', '--format', 'json'], {
    env: { ...process.env, COMPOSE_PROFILES: '' },
  });
  return JSON.parse(json.toString()) as ComposeConfig;
}

describe.skipIf(!enabled)('container logs', () => {
  it('every service rotates its log at the configured size and count', () => {
    const { services } = composeConfig('CONTAINER_LOG_MAX_SIZE=2m\nCONTAINER_LOG_MAX_FILE=4\n');
    expect(Object.keys(services).sort()).toEqual(['alert_watcher', 'app_blue', 'app_green', 'nginx', 'prometheus']);
    for (const [name, service] of Object.entries(services)) {
      expect(service.logging, name).toMatchObject({ driver: 'json-file', options: { 'max-size': '2m', 'max-file': '4' } });
    }
  });

  it("falls back to .env.example's defaults when .env lacks the lines", () => {
    const example = dotenv.parse(readFileSync('.env.example'));
    const { services } = composeConfig('');
    for (const [name, service] of Object.entries(services)) {
      expect(service.logging?.options, name).toMatchObject({
        'max-size': example.CONTAINER_LOG_MAX_SIZE,
        'max-file': example.CONTAINER_LOG_MAX_FILE,
      });
    }
  });
});
