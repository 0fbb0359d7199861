// The one spawn helper of the host-side tools: docker, docker compose, make
// and the watcher's ctl, with their output kept for the error message and,
// when asked, shown as it comes (indented under a release step, or as is).
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './settings.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they interleaved. */
  output: string;
  ms: number;
}

export interface RunOptions {
  /** Show the output as it comes: `indent` each line under the step that runs it, `raw` as the child wrote it. */
  show?: boolean | 'indent' | 'raw';
  /** Extra environment over ours; a key set to undefined is left out. */
  env?: Record<string, string | undefined>;
  /** Each complete line of output, as it arrives. */
  onLine?: (line: string) => void;
  /** Each chunk of output as it arrives. */
  onOutput?: (chunk: string) => void;
  /** Kill the child (SIGTERM) after this long; resolves with what it wrote. */
  timeoutMs?: number;
  /**
   * Its own process group (the default): a Ctrl-C reaches us, and we decide
   * what to stop, instead of killing a `compose up` halfway.
   */
  detached?: boolean;
  /** The child's stdout and stderr are ours (a terminal's colours and progress), not collected. */
  inherit?: boolean;
}

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...opts.env })) if (value !== undefined) env[key] = value;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', opts.inherit ? 'inherit' : 'pipe', opts.inherit ? 'inherit' : 'pipe'],
      detached: opts.detached ?? true,
    });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs);
    const mode = opts.show === true ? 'indent' : opts.show;
    let stdout = '';
    let stderr = '';
    let output = '';
    let partial = '';
    const collect = (into: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString();
      if (into === 'stdout') stdout += text;
      else stderr += text;
      output += text;
      if (mode === 'raw') (into === 'stdout' ? process.stdout : process.stderr).write(text);
      opts.onOutput?.(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        opts.onLine?.(line);
        if (mode === 'indent') show(line);
      }
    };
    child.stdout?.on('data', collect('stdout'));
    child.stderr?.on('data', collect('stderr'));
    let settled = false;
    const done = (code: number, extra = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (partial !== '') opts.onLine?.(partial);
      if (mode === 'indent') show(partial);
      resolve({ code, stdout, stderr: stderr + extra, output: output + extra, ms: Date.now() - started });
    };
    child.on('error', (err) => done(127, `${err.message}\n`));
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

// Compose's progress lines carry terminal escapes even with --no-color.
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

function show(line: string): void {
  const clean = line.replace(ESCAPES, '').trimEnd();
  if (clean.trim() !== '') process.stdout.write(`      ${clean}\n`);
}

/** The last non-empty line of a command's output: what a one-line error quotes. */
export const lastLine = (output: string): string =>
  output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1) ?? '(no output)';

/**
 * `docker compose` as the Makefile runs it: COMPOSE from the environment (a
 * test's fake, or another project's), else with ENV_FILE, so every tool acts
 * on the same project and env file.
 */
export function composeCommand(envFile: string, env: Record<string, string | undefined> = process.env): string[] {
  const words = (env.COMPOSE ?? '').trim().split(/\s+/).filter((w) => w !== '');
  return words.length > 0 ? words : ['docker', 'compose', '--env-file', envFile];
}

export function compose(envFile: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const [command, ...base] = composeCommand(envFile, { ...process.env, ...opts.env });
  return run(command as string, [...base, ...args], opts);
}

/** The watcher's operator CLI inside its container (watcher/operator/ctl.ts). */
export const CTL = ['exec', '-T', 'alert_watcher', 'node', 'dist/watcher/operator/ctl.js'] as const;

export function ctl(envFile: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return compose(envFile, [...CTL, ...args], opts);
}
