// The one replica finder: a pool's replicas (BLUE_REPLICAS / GREEN_REPLICAS)
// as make chaos, make status, make ready, make switch, the release tool and
// the tests find them. Compose names the pool's containers; docker inspect
// says, of each, its number, state, the address Nginx logs in upstream_addr
// (and the watcher names in a degraded-pool alert) and its direct port on
// 127.0.0.1, taken from the BLUE_PORT / GREEN_PORT range.
import { compose, lastLine, run } from './run.js';
import type { PoolName, StackSettings } from './settings.js';

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

/** One line a container: `<index>|<container>|<state>|<address>|<host port>`, any field possibly empty. */
export const INSPECT_FORMAT =
  '{{index .Config.Labels "com.docker.compose.container-number"}}|{{slice .Name 1}}|' +
  '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}|' +
  '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}|' +
  '{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}}{{end}}{{end}}';

/** Parses docker inspect's lines (INSPECT_FORMAT), by index. */
export function parseReplicas(stdout: string): Replica[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [index = '', container = '', state = '', address = '', port = ''] = line.trim().split('|');
      if (!/^\d+$/.test(index) || container === '') throw new Error(`docker inspect: unexpected line "${line}"`);
      return {
        index: Number(index),
        container,
        state: state || '-',
        address: address === '' ? undefined : address,
        port: /^\d+$/.test(port) ? Number(port) : undefined,
      };
    })
    .sort((a, b) => a.index - b.index);
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
  const ps = await compose(s.ENV_FILE, ['ps', '--all', '-q', `app_${pool}`], { env, timeoutMs: 30_000 });
  if (ps.code !== 0) throw new Error(`cannot list the ${pool} replicas: ${lastLine(ps.output)}`);
  const ids = ps.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (ids.length === 0) throw new Error(`cannot list the ${pool} replicas: no app_${pool} container: is the stack up (make up)?`);
  const inspect = await run('docker', ['inspect', '-f', INSPECT_FORMAT, ...ids], { env, timeoutMs: 30_000 });
  if (inspect.code !== 0) throw new Error(`cannot list the ${pool} replicas: ${lastLine(inspect.output)}`);
  return parseReplicas(inspect.stdout);
}

/** `http://127.0.0.1:<port>` of each replica that has a direct port (the running ones). */
export async function replicaOrigins(
  s: Pick<StackSettings, 'ENV_FILE'>,
  pool: PoolName,
  env: Record<string, string> = {},
): Promise<string[]> {
  return (await listReplicas(s, pool, env)).flatMap((r) => (r.port === undefined ? [] : [`http://127.0.0.1:${r.port}`]));
}
