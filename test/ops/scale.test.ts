// make scale (the CLI's scale, ops/cli/commands.ts) against a fake `docker compose` that records
// every call: the count goes into ENV_FILE (so make up and releases keep it),
// under the release lock, then only the pool's service is brought to it; a
// count the port range or the retry bound cannot take is refused first.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

function setup(env: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bg-scale-'));
  const envFile = path.join(dir, '.env');
  writeFileSync(envFile, env, { mode: 0o600 });
  const log = path.join(dir, 'compose.log');
  const compose = path.join(dir, 'compose');
  writeFileSync(compose, `#!/bin/sh\nprintf '%s\\n' "$*" >>"${log}"\n`);
  chmodSync(compose, 0o755);
  const make = (...args: string[]) =>
    spawnSync('make', ['-s', '--no-print-directory', 'scale', `ENV_FILE=${envFile}`, `COMPOSE=${compose}`, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BLUE_REPLICAS: '', GREEN_REPLICAS: '', BLUE_PORT: '', GREEN_PORT: '' },
    });
  const calls = () => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { envFile, make, calls };
}

describe('make scale', () => {
  it('writes the count into ENV_FILE, keeping the file and its mode, then brings only that pool to it', () => {
    const { envFile, make, calls } = setup('GREEN_PORT=8281-8283\nCHAOS_TOKEN=secret-token-0123456789\n');
    const run = make('POOL=green', 'N=3');
    expect(run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'))).toEqual([]);
    expect(run.status).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe('GREEN_PORT=8281-8283\nCHAOS_TOKEN=secret-token-0123456789\nGREEN_REPLICAS=3\n');
    expect(execFileSync('stat', ['-c', '%a', envFile]).toString().trim()).toBe('600');
    expect(calls()).toEqual(['up -d --wait --wait-timeout 120 app_green']);
  });

  it('refuses, before touching anything, a count the port range or the retry bound cannot take, or a bad one', () => {
    const cases: [string[], string][] = [
      [['POOL=blue', 'N=3'], 'scale: config error: BLUE_PORT: BLUE_REPLICAS=3 needs 3 ports in BLUE_PORT, one per replica: a range such as 8081-8083 (got "8081")'],
      [['POOL=blue', 'N=0'], "scale: N must be a whole number of replicas from 1 to 20 (got '0')"],
      [['POOL=red', 'N=1'], "scale: POOL must be blue or green (got 'red')"],
    ];
    for (const [args, message] of cases) {
      const { envFile, make, calls } = setup('');
      const run = make(...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')[0], args.join(' ')).toBe(message);
      expect(readFileSync(envFile, 'utf8')).toBe('');
      expect(calls()).toEqual([]);
    }
    const slow = setup('BLUE_PORT=8181-8184\nNGINX_RETRY_TIMEOUT_MS=3000\n');
    const run = slow.make('POOL=blue', 'N=4');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('NGINX_RETRY_TIMEOUT_MS=3000 must exceed 4 replicas x 800 ms');
    expect(slow.calls()).toEqual([]);
  });
});
