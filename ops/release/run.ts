// Child processes of the release tool (docker, docker compose, scripts/switch.sh),
// with their output kept for the error message and, when asked, shown as it comes.
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../stack/index.js';

export interface Run {
  code: number;
  output: string;
}

export interface RunOptions {
  /** Show the output, each line indented under the step that runs it. */
  show?: boolean;
  env?: Record<string, string>;
  /** Each complete line of output, as it arrives. */
  onLine?: (line: string) => void;
}

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    // Its own process group: a Ctrl-C reaches the release tool, which decides
    // what to stop, instead of killing a `compose up` halfway.
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let partial = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        opts.onLine?.(line);
        if (opts.show) show(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => resolve({ code: 127, output: `${output}${err.message}\n` }));
    child.on('close', (code, signal) => {
      if (partial !== '') opts.onLine?.(partial);
      if (opts.show) show(partial);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
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

/** `docker compose` as the Makefile runs it (COMPOSE), so the release acts on the same project and env file. */
export function composeCommand(envFile: string): string[] {
  const words = (process.env.COMPOSE ?? '').trim().split(/\s+/).filter((w) => w !== '');
  return words.length > 0 ? words : ['docker', 'compose', '--env-file', envFile];
}

export function compose(envFile: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const [command, ...base] = composeCommand(envFile);
  return run(command as string, [...base, ...args], opts);
}
