// promtool, run inside the Prometheus image the monitoring profile uses
// (docker-compose.yml `prometheus`), so the checks are those of the version
// that will load monitoring/. Needs a Docker engine: see requireDockerOrSkip.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MONITORING_DIR = path.join(ROOT, 'monitoring');
/** The image Compose runs: PROMETHEUS_VERSION's default lives in .env.example, as every default does. */
export const PROMETHEUS_IMAGE = `prom/prometheus:${dotenv.parse(readFileSync(path.join(ROOT, '.env.example'))).PROMETHEUS_VERSION ?? 'v3.5.0'}`;

export interface PromtoolResult {
  /** Exit status 0: for `check metrics`, also no lint problem (promtool exits 3 on those). */
  ok: boolean;
  code: number | null;
  /** stdout and stderr together, as promtool splits its findings between them. */
  output: string;
}

/**
 * `promtool <args>` in a throwaway container with no network, monitoring/
 * mounted read-only at /etc/prometheus (where Compose mounts it), `input` on
 * its stdin.
 */
export function promtool(args: string[], input?: string, timeoutMs = 60_000): Promise<PromtoolResult> {
  const dockerArgs = ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/promtool'];
  if (input !== undefined) dockerArgs.push('-i');
  dockerArgs.push('-v', `${MONITORING_DIR}:/etc/prometheus:ro`, PROMETHEUS_IMAGE, ...args);
  return new Promise((resolve, reject) => {
    const child = spawn('docker', dockerArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, output });
    });
    // A child that exits before reading all of stdin must not crash the test run.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * `promtool check metrics` on a /metrics exposition (text format): parse
 * errors and lint problems (a counter without `_total`, a missing HELP, a
 * unit-less name...) make it not ok, with promtool's findings in `output`.
 */
export async function promtoolCheckMetrics(text: string): Promise<{ ok: boolean; output: string }> {
  const { ok, output } = await promtool(['check', 'metrics'], text);
  return { ok, output };
}
