// The CLI's pure parts: its command line (words and make's ARG_<NAME>), each
// command's arguments as one-line errors, and the checks make up and make
// scale run before Compose starts anything.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chaosRequest, parseCommandLine, releaseRequest, rollbackRequest, scaleRequest, switchRequest } from '../../ops/cli/args.js';
import { portsProblem, retryProblem, timeoutsLine } from '../../ops/stack/checks.js';
import { REPO_ROOT } from '../../ops/stack/index.js';

describe('the command line', () => {
  it('takes arguments from make (ARG_<NAME>) and from words, a word winning; other KEY=VALUE words are settings', () => {
    expect(parseCommandLine(['chaos', 'MODE=timeout', 'NGINX_PORT=18080'], { ARG_MODE: 'error', ARG_POOL: 'green', MODE: 'ignored' })).toEqual({
      command: 'chaos',
      args: { MODE: 'timeout', POOL: 'green' },
      settings: { NGINX_PORT: '18080' },
    });
    // A value keeps its spaces, quotes and '#': no shell or make re-reads it.
    expect(parseCommandLine(['rollback'], { ARG_REASON: `bad "r2" #12` }).args).toEqual({ REASON: `bad "r2" #12` });
    expect(() => parseCommandLine(['chaos', '--mode'], {})).toThrow('expected KEY=VALUE (got "--mode")');
  });

  it('reads each command’s arguments, with defaults, or says what is wrong in one line', () => {
    expect(chaosRequest({})).toEqual({ pool: undefined, mode: 'error', rate: 1, replica: undefined });
    expect(chaosRequest({ MODE: 'timeout', RATE: '0.5', POOL: 'green', REPLICA: '2' })).toEqual({ pool: 'green', mode: 'timeout', rate: 0.5, replica: 2 });
    expect(() => chaosRequest({ MODE: 'slow' })).toThrow("chaos: MODE must be error or timeout (got 'slow')");
    expect(() => chaosRequest({ RATE: '2' })).toThrow("chaos: RATE must be a share of requests from 0 to 1 (got '2')");
    expect(() => chaosRequest({ RATE: '1;id' })).toThrow(/RATE must be/);
    expect(() => chaosRequest({ REPLICA: '0' })).toThrow(/REPLICA must be a replica's index from 1 to 20/);
    expect(() => chaosRequest({ POOL: 'red' })).toThrow("chaos: POOL must be blue or green (got 'red')");
    expect(switchRequest({ POOL: 'green', FORCE: '1' })).toEqual({ pool: 'green', force: true });
    expect(switchRequest({ POOL: 'blue', FORCE: 'yes' })).toEqual({ pool: 'blue', force: false });
    expect(() => switchRequest({})).toThrow("switch: POOL must be blue or green (got '')");
    expect(scaleRequest({ POOL: 'blue', N: '20' })).toEqual({ pool: 'blue', n: 20 });
    expect(() => scaleRequest({ POOL: 'blue', N: '21' })).toThrow("scale: N must be a whole number of replicas from 1 to 20 (got '21')");
    expect(releaseRequest({ RELEASE: 'r2', IMAGE: '', POOL: '' })).toEqual({ release: 'r2' });
    expect(() => releaseRequest({ RELEASE: 'r2', IMAGE: 'a b' })).toThrow(/^release: IMAGE: expected an image reference/);
    expect(() => releaseRequest({ RELEASE: 'r2', POOL: 'red' })).toThrow('release: POOL: expected "blue" or "green" (got "red")');
    expect(rollbackRequest({ FORCE: '1', REASON: '  slow  ' })).toEqual({ force: true, reason: 'slow' });
    expect(() => rollbackRequest({ REASON: 'x'.repeat(201) })).toThrow('rollback: REASON: expected up to 200 printable characters');
  });
});

describe('make status', () => {
  it('shows the timeouts Nginx fails over on, as configured', () => {
    const t = { NGINX_CONNECT_TIMEOUT_MS: 250, NGINX_READ_TIMEOUT_MS: 2000, NGINX_SEND_TIMEOUT_MS: 900, NGINX_RETRY_TIMEOUT_MS: 7000 };
    expect(timeoutsLine(t)).toBe('Nginx timeouts: connect 250 ms, read 2000 ms, send 900 ms per attempt; a request\'s retries within 7000 ms (NGINX_*_TIMEOUT_MS)');
  });
});

describe('the checks before Compose starts anything', () => {
  it('needs a direct port per replica', () => {
    expect(portsProblem('BLUE', 3, { first: 8181, last: 8183 })).toBeUndefined();
    expect(portsProblem('GREEN', 2, { first: 8082, last: 8082 })).toBe(
      'GREEN_REPLICAS=2 needs 2 ports in GREEN_PORT, one per replica: a range such as 8082-8083',
    );
  });

  it('needs a retry bound past every primary replica hanging, for the larger pool', () => {
    const t = { NGINX_CONNECT_TIMEOUT_MS: 500, NGINX_READ_TIMEOUT_MS: 800, NGINX_RETRY_TIMEOUT_MS: 3000 };
    expect(retryProblem(t, 3, 1)).toBeUndefined();
    expect(retryProblem(t, 1, 4)).toMatch(/^NGINX_RETRY_TIMEOUT_MS=3000 must exceed 4 replicas x 800 ms .* = 3200 ms/);
    expect(retryProblem({ ...t, NGINX_CONNECT_TIMEOUT_MS: 1500 }, 2, 2)).toMatch(/exceed 2 replicas x 1500 ms/);
  });
});

describe('make and the CLI', () => {
  const env = (text: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'bg-cli-')), '.env');
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  it('lists every target with its help text and arguments', () => {
    const help = execFileSync('make', ['-s', 'help'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(help).toContain('make chaos            Make a pool fail on purpose: MODE=error|timeout RATE=0..1 POOL=<serving pool> [REPLICA=<index>]');
    expect(help).toContain('make rollback         Back to the previous release (the other pool) at once: [REASON="..."] [FORCE=1]');
  });

  it('ignores an argument left in the shell’s environment, as ARG_ or by name, and refuses a secret on the command line', () => {
    const file = env('');
    const run = (args: string[], extra: Record<string, string>) =>
      spawnSync('make', ['-s', 'switch', `ENV_FILE=${file}`, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...extra } });
    const stray = run([], { POOL: 'green', ARG_POOL: 'green' });
    expect(stray.status).toBe(2);
    expect(stray.stderr.split('\n')[0]).toBe("switch: POOL must be blue or green (got '')");
    // The drill's ARGS beside a target's own arguments, as `make drill` runs `make switch POOL=green`:
    // it names no list of the Makefile's.
    const nested = run(['POOL=purple', 'ARGS=--seconds 2'], {});
    expect(nested.stderr.split('\n')[0]).toBe("switch: POOL must be blue or green (got 'purple')");
    const secret = spawnSync(process.execPath, ['dist/ops/cli/main.js', 'chaos', 'CHAOS_TOKEN=x'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(secret.status).toBe(2);
    expect(secret.stderr).toContain('CHAOS_TOKEN is a secret');
  });

  it('exits 2 on an unknown command, with the usage', () => {
    const r = spawnSync(process.execPath, ['dist/ops/cli/main.js', 'explode'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^explode: unknown command "explode"\nusage: /);
  });
});
