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
      config: { ENV_FILE: file, NGINX_PORT: 28180, BLUE_PORT: 1234, GREEN_PORT: 8082, WATCHER_HOST_PORT: 9100, ACTIVE_POOL: 'green', ALERT_COOLDOWN_SEC: 0, RECOVERY_HOLD_SEC: 5 },
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

  it('agrees with the Makefile on every setting both read', () => {
    const file = envFile('BLUE_PORT=18181\n');
    const printed = execFileSync('make', ['-s', '--no-print-directory', '-f', 'Makefile', '-f', '-', 'print', `ENV_FILE=${file}`], {
      cwd: REPO_ROOT,
      input: 'print:\n\t@echo $(NGINX_PORT) $(BLUE_PORT) $(GREEN_PORT) $(WATCHER_HOST_PORT) $(ACTIVE_POOL)\n',
      env: { ...process.env, NGINX_PORT: '', BLUE_PORT: '', GREEN_PORT: '', WATCHER_HOST_PORT: '', ACTIVE_POOL: '' },
    }).toString().trim();
    const r = loadStackSettings({ ENV_FILE: file });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { NGINX_PORT, BLUE_PORT, GREEN_PORT, WATCHER_HOST_PORT, ACTIVE_POOL } = r.config;
    expect(printed).toBe([NGINX_PORT, BLUE_PORT, GREEN_PORT, WATCHER_HOST_PORT, ACTIVE_POOL].join(' '));
    expect(BLUE_PORT).toBe(18181);
  });

  it('works without the env file (make up creates it) using the defaults', () => {
    const r = loadStackSettings({ ENV_FILE: path.join(tmpdir(), 'bg-missing-dir', '.env') });
    expect(r).toMatchObject({ ok: true, config: { NGINX_PORT: 8080, ACTIVE_POOL: 'blue', ALERT_COOLDOWN_SEC: 300, RECOVERY_HOLD_SEC: 30, MAINTENANCE_MODE: false } });
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
