// A pool's replicas as scripts/replicas.sh lists them (the one place that
// finds them, for make chaos and make status too): which containers run, the
// address Nginx logs for each, and each one's direct port on 127.0.0.1.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, type PoolName, type StackSettings } from './settings.js';

const execFileAsync = promisify(execFile);

export interface Replica {
  /** Compose's container number: `make chaos REPLICA=<index>`. */
  index: number;
  container: string;
  /** Health when the image has a check (healthy, starting…), else the state (running, exited…). */
  state: string;
  /** The address Nginx logs in upstream_addr; undefined while stopped. */
  address: string | undefined;
  /** Its direct port on 127.0.0.1; undefined while stopped. */
  port: number | undefined;
}

/** Parses the script's lines: `<index> <container> <state> <address|-> <port|->`. */
export function parseReplicas(stdout: string): Replica[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [index = '', container = '', state = '', address = '-', port = '-'] = line.trim().split(/\s+/);
      if (!/^\d+$/.test(index) || container === '') throw new Error(`scripts/replicas.sh: unexpected line "${line}"`);
      return {
        index: Number(index),
        container,
        state,
        address: address === '-' ? undefined : address,
        port: /^\d+$/.test(port) ? Number(port) : undefined,
      };
    });
}

/**
 * The pool's replicas, by index. Compose is run as the Makefile runs it
 * (COMPOSE from the environment, else with ENV_FILE), so a test stack's
 * COMPOSE_PROJECT_NAME applies.
 */
export async function listReplicas(
  s: Pick<StackSettings, 'ENV_FILE'>,
  pool: PoolName,
  env: Record<string, string> = {},
): Promise<Replica[]> {
  const merged = { ...process.env, ...env };
  const compose = merged.COMPOSE?.trim() || `docker compose --env-file ${s.ENV_FILE}`;
  try {
    const { stdout } = await execFileAsync(path.join(REPO_ROOT, 'scripts/replicas.sh'), [pool], {
      cwd: REPO_ROOT,
      env: { ...merged, COMPOSE: compose },
      timeout: 30_000,
    });
    return parseReplicas(stdout);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cannot list the ${pool} replicas: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** `http://127.0.0.1:<port>` of each replica that has a direct port (the running ones). */
export async function replicaOrigins(
  s: Pick<StackSettings, 'ENV_FILE'>,
  pool: PoolName,
  env: Record<string, string> = {},
): Promise<string[]> {
  return (await listReplicas(s, pool, env)).flatMap((r) => (r.port === undefined ? [] : [`http://127.0.0.1:${r.port}`]));
}
