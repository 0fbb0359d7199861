import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setEnvValues } from '../../ops/stack/envFile.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bg-env-'));

describe('env file updates', () => {
  it('replaces the last line of a key, appends a missing one and keeps everything else', () => {
    const file = path.join(tmp(), '.env');
    writeFileSync(file, '# comment\nGREEN_IMAGE=\nRELEASE_ID_GREEN=old\nRELEASE_ID_GREEN=older\nOTHER=x\n');
    setEnvValues(file, { GREEN_IMAGE: 'bluegreen-node:r2', RELEASE_ID_GREEN: 'r2', NEW_KEY: 'v' });
    expect(readFileSync(file, 'utf8')).toBe('# comment\nGREEN_IMAGE=bluegreen-node:r2\nRELEASE_ID_GREEN=old\nRELEASE_ID_GREEN=r2\nOTHER=x\nNEW_KEY=v\n');
  });

  it('creates the file when there is none, readable by its owner only', () => {
    const file = path.join(tmp(), '.env');
    setEnvValues(file, { A: '1' });
    expect(readFileSync(file, 'utf8')).toBe('A=1\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the mode of the file it replaces: a 0600 env file (webhook, CHAOS_TOKEN) stays 0600', () => {
    const dir = tmp();
    const file = path.join(dir, '.env');
    writeFileSync(file, 'SLACK_WEBHOOK_URL=https://hooks.example/T0/B0/x\nACTIVE_POOL=blue\n');
    chmodSync(file, 0o600);
    setEnvValues(file, { ACTIVE_POOL: 'green' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o640);
    setEnvValues(file, { ACTIVE_POOL: 'blue' });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['.env']);
  });
});
