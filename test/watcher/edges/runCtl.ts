// The built ctl (dist/watcher/operator/ctl.js), run as the Makefile and the
// release CLI run it, against a temp CONTROL_DIR and an unreachable watcher.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCtl(controlDir: string, ...args: string[]): Promise<CtlResult> {
  return runCtlWith({}, controlDir, ...args);
}

/** The same, with more of the watcher's settings in its environment. */
export async function runCtlWith(env: Record<string, string>, controlDir: string, ...args: string[]): Promise<CtlResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/watcher/operator/ctl.js', ...args], {
      env: { PATH: process.env.PATH, CONTROL_DIR: controlDir, WATCHER_PORT: '1', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
