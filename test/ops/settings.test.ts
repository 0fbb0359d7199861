import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import dotenv from 'dotenv';
import { loadStackSettings, poolImage, REPO_ROOT } from '../../ops/stack/index.js';

function envFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bg-settings-')), '.env');
  writeFileSync(file, text);
  return file;
}

describe('stack settings', () => {
  it('takes a non-empty environment variable first, then ENV_FILE, then the default', () => {
    const file = envFile('NGINX_PORT=28180\nBLUE_PORT=28181\nACTIVE_POOL=green\nALERT_COOLDOWN_SEC=0\nRECOVERY_HOLD_SEC=5\n');
    const r = loadStackSettings({ ENV_FILE: file, BLUE_PORT: '1234', ACTIVE_POOL: '' });
    expect(r).toMatchObject({
      ok: true,
      config: { ENV_FILE: file, NGINX_PORT: 28180, BLUE_PORT: { first: 1234, last: 1234 }, GREEN_PORT: { first: 8082, last: 8082 }, WATCHER_HOST_PORT: 9100, ACTIVE_POOL: 'green', ALERT_COOLDOWN_SEC: 0, RECOVERY_HOLD_SEC: 5 },
    });
  });

  it('takes its defaults from .env.example, as the Makefile does, and an empty line means the default', () => {
    const example = dotenv.parse(readFileSync(path.join(REPO_ROOT, '.env.example')));
    const r = loadStackSettings({ ENV_FILE: envFile('ANALYSIS_SEC=\nGREEN_IMAGE=\n') });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.ANALYSIS_SEC).toBe(Number(example.ANALYSIS_SEC));
    expect(r.config.ANALYSIS_P99_MS).toBe(Number(example.ANALYSIS_P99_MS));
    expect(r.config.NGINX_PORT).toBe(Number(example.NGINX_PORT));
    expect(r.config.GREEN_IMAGE).toBeUndefined();
    expect(poolImage(r.config, 'green')).toBe(`bluegreen-node:${example.IMAGE_TAG}`);
    expect(poolImage({ ...r.config, BLUE_IMAGE: 'registry.example/team/app:1.2' }, 'blue')).toBe('registry.example/team/app:1.2');
  });

  it('takes the command line over the environment, the environment over ENV_FILE, ENV_FILE over .env.example', () => {
    const file = envFile('NGINX_PORT=28180\nBLUE_PORT=28181\nGREEN_PORT=28182\n');
    const r = loadStackSettings({ ENV_FILE: file, NGINX_PORT: '38180', BLUE_PORT: '38181' }, { NGINX_PORT: '48180' });
    expect(r).toMatchObject({
      ok: true,
      config: { NGINX_PORT: 48180, BLUE_PORT: { first: 38181 }, GREEN_PORT: { first: 28182 }, WATCHER_HOST_PORT: 9100 },
    });
    // ENV_FILE itself too: the command line's wins.
    const other = envFile('NGINX_PORT=28280\n');
    expect(loadStackSettings({ ENV_FILE: file }, { ENV_FILE: other })).toMatchObject({ ok: true, config: { ENV_FILE: other, NGINX_PORT: 28280 } });
  });

  it('works without the env file (make up creates it) using the defaults', () => {
    const r = loadStackSettings({ ENV_FILE: path.join(tmpdir(), 'bg-missing-dir', '.env') });
    expect(r).toMatchObject({ ok: true, config: { NGINX_PORT: 8080, ACTIVE_POOL: 'blue', ALERT_COOLDOWN_SEC: 300, RECOVERY_HOLD_SEC: 30, MAINTENANCE_MODE: false } });
  });

  it('takes a port range for a pool with replicas, and needs a port per replica', () => {
    const ok = loadStackSettings({ ENV_FILE: envFile('BLUE_REPLICAS=3\nBLUE_PORT=8181-8183\n') });
    expect(ok).toMatchObject({ ok: true, config: { BLUE_REPLICAS: 3, BLUE_PORT: { first: 8181, last: 8183 }, GREEN_REPLICAS: 1 } });
    const short = loadStackSettings({ ENV_FILE: envFile('BLUE_REPLICAS=3\nBLUE_PORT=8181-8182\nGREEN_REPLICAS=2\n') });
    expect(short).toEqual({
      ok: false,
      problems: [
        'BLUE_PORT: BLUE_REPLICAS=3 needs 3 ports in BLUE_PORT, one per replica: a range such as 8181-8183 (got "8181-8182")',
        'GREEN_PORT: GREEN_REPLICAS=2 needs 2 ports in GREEN_PORT, one per replica: a range such as 8082-8083 (got "8082")',
      ],
    });
    for (const bad of ['8183-8181', '80-70000', '8181-', 'x']) {
      const r = loadStackSettings({ ENV_FILE: envFile(`BLUE_PORT=${bad}\n`) });
      expect(r.ok ? [] : r.problems, bad).toEqual([`BLUE_PORT: expected a port (8081) or a range of ports (8181-8183) (got ${JSON.stringify(bad)})`]);
    }
    const many = loadStackSettings({ ENV_FILE: envFile('BLUE_REPLICAS=21\n') });
    expect(many.ok ? [] : many.problems).toEqual(['BLUE_REPLICAS: expected a whole number from 1 to 20 (got "21")']);
  });

  it('make up says a short port range before Compose starts anything', () => {
    const file = envFile('BLUE_REPLICAS=3\nBLUE_PORT=18181-18182\n');
    let failure: { status?: number; stderr?: Buffer } = {};
    try {
      execFileSync('make', ['-s', 'up', `ENV_FILE=${file}`], { cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, BLUE_REPLICAS: '', BLUE_PORT: '' } });
    } catch (err) {
      failure = err as typeof failure;
    }
    expect(failure.status).toBe(2);
    expect(String(failure.stderr)).toContain('up: config error: BLUE_PORT: BLUE_REPLICAS=3 needs 3 ports in BLUE_PORT, one per replica: a range such as 18181-18183 (got "18181-18182")');
  });

  it('make up says a retry bound that three hung replicas would use up, before Compose starts anything', () => {
    const file = envFile('BLUE_REPLICAS=3\nBLUE_PORT=18181-18183\nNGINX_RETRY_TIMEOUT_MS=2400\n');
    let failure: { status?: number; stderr?: Buffer } = {};
    try {
      execFileSync('make', ['-s', 'up', `ENV_FILE=${file}`], {
        cwd: REPO_ROOT,
        stdio: 'pipe',
        env: { ...process.env, BLUE_REPLICAS: '', BLUE_PORT: '', NGINX_RETRY_TIMEOUT_MS: '' },
      });
    } catch (err) {
      failure = err as typeof failure;
    }
    expect(failure.status).toBe(2);
    expect(String(failure.stderr)).toContain(
      'up: config error: NGINX_RETRY_TIMEOUT_MS=2400 must exceed 3 replicas x 800 ms (the slower of NGINX_CONNECT_TIMEOUT_MS and NGINX_READ_TIMEOUT_MS) = 2400 ms',
    );
  });

  it('reports each bad value on its own line, naming it', () => {
    const file = envFile('GREEN_PORT=99999\nRECOVERY_HOLD_SEC=soon\n');
    const r = loadStackSettings({ ENV_FILE: file, ACTIVE_POOL: 'purple' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(3);
    // Read with the watcher's own rule, so the drill refuses what the watcher would.
    expect(r.problems.join('\n')).toMatch(/RECOVERY_HOLD_SEC: expected a whole number from 0 to 3600 \(got "soon"\)/);
    expect(r.problems.join('\n')).toMatch(/GREEN_PORT: .*\(got "99999"\)/);
    expect(r.problems.join('\n')).toMatch(/ACTIVE_POOL: .*\(got "purple"\)/);
  });
});
