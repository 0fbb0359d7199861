// The one .env syntax: scripts/check-env.sh (run by make) and
// ops/stack/envSyntax.ts (the host tools) refuse the same lines with the same
// words, never showing a value; make stops on them, and so do the tools.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSyntaxProblems } from '../../ops/stack/envSyntax.js';
import { loadStackSettings, REPO_ROOT } from '../../ops/stack/index.js';

const LINES = [
  'GOOD=1',
  'EMPTY=',
  'URL=https://hooks.slack.com/services/T0/B0/secret?x=1&y=2',
  '# a comment',
  '',
  'QUOTED="https://hooks.slack.com/services/T0/B0/secret"',
  "SINGLE='x'",
  'export EXPORTED=1',
  ' INDENTED=1',
  'SPACED = 1',
  'INLINE=8080 # the port',
  'HASH=a#b',
  'TAB=a\tb',
  'NOEQUALS',
  'CRLF=1\r',
];

function file(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'bg-envsyntax-')), '.env');
  writeFileSync(f, text);
  return f;
}

describe('the one .env syntax', () => {
  it('the shell check and the tools refuse the same lines, in the same words, never echoing a value', () => {
    const f = file(LINES.join('\n'));
    const shell = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/check-env.sh'), f], { encoding: 'utf8' });
    const problems = envSyntaxProblems(LINES.join('\n'), f);
    expect(shell.status).toBe(1);
    expect(shell.stderr.trim().split('\n')).toEqual(problems);
    expect(problems.map((p) => p.slice(f.length + 1))).toEqual([
      '6: QUOTED: quotes are read differently by Make, Compose and the tools: write the value bare',
      '7: SINGLE: quotes are read differently by Make, Compose and the tools: write the value bare',
      "8: expected KEY=VALUE (no spaces around =, no 'export')",
      "9: expected KEY=VALUE (no spaces around =, no 'export')",
      "10: expected KEY=VALUE (no spaces around =, no 'export')",
      '11: INLINE: whitespace in a value is read differently by Make, Compose and the tools',
      "12: HASH: '#' in a value starts a comment for some readers and not others",
      '13: TAB: whitespace in a value is read differently by Make, Compose and the tools',
      "14: expected KEY=VALUE (no spaces around =, no 'export')",
    ]);
    expect(problems.join('\n')).not.toContain('secret');
  });

  it('.env.example itself is in the syntax', () => {
    const example = path.join(REPO_ROOT, '.env.example');
    expect(spawnSync('bash', [path.join(REPO_ROOT, 'scripts/check-env.sh'), example]).status).toBe(0);
  });

  it('make stops on such a file before anything runs, and the host tools refuse it too', () => {
    const f = file('NGINX_PORT="8080"\n');
    const make = spawnSync('make', ['-s', 'help', `ENV_FILE=${f}`], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(make.status).toBe(2);
    expect(make.stderr).toContain(`${f}:1: NGINX_PORT: quotes are read differently by Make, Compose and the tools: write the value bare`);
    expect(make.stdout).toBe('');
    const tools = loadStackSettings({ ENV_FILE: f });
    expect(tools.ok ? [] : tools.problems).toEqual([`${f}:1: NGINX_PORT: quotes are read differently by Make, Compose and the tools: write the value bare`]);
  });
});
