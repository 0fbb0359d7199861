// The .env the first `make` creates (scripts/new-env.sh): .env.example with a
// random CHAOS_TOKEN the pools accept, readable by its owner only, a new
// token each time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appSchema } from '../../app/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `make <file>` with ENV_FILE pointing there, as the first `make up` runs it. */
function makeEnv(): { file: string; text: string } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bg-env-')), '.env');
  execFileSync('make', ['-s', `ENV_FILE=${file}`, file], { cwd: ROOT, stdio: 'pipe' });
  return { file, text: readFileSync(file, 'utf8') };
}

const tokenOf = (text: string) => /^CHAOS_TOKEN=(.*)$/m.exec(text)?.[1];

describe('the .env the first make creates', () => {
  it('is .env.example with a random CHAOS_TOKEN that the pools accept, mode 0600', () => {
    const { file, text } = makeEnv();
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    expect(tokenOf(example)).toBe('');
    const token = tokenOf(text)!;
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(text).toBe(example.replace(/^CHAOS_TOKEN=$/m, `CHAOS_TOKEN=${token}`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(appSchema.parse({ CHAOS_TOKEN: token }).CHAOS_TOKEN).toBe(token);
  });

  it('draws a new token each time', () => {
    expect(tokenOf(makeEnv().text)).not.toBe(tokenOf(makeEnv().text));
  });
});
