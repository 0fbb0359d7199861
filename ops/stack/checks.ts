// What `make up` and `make scale` check before Compose starts anything, pure.
// Each replica publishes its own direct port: Compose would stop halfway with
// "port is already allocated" when the range is short. And Nginx checks the
// retry bound against one replica (it is not told the counts, so scaling a
// pool never recreates it); with replicas, every primary replica may hang
// before the backup is tried, so the bound must outlast them all.
import type { PortRange } from './settings.js';

type Pool = 'BLUE' | 'GREEN';

/** The problem with `n` replicas on `range`, or undefined; the settings' own check says it too (settings.ts). */
export function portsProblem(pool: Pool, n: number, range: PortRange): string | undefined {
  if (range.last - range.first + 1 >= n) return undefined;
  return `${pool}_REPLICAS=${n} needs ${n} ports in ${pool}_PORT, one per replica: a range such as ${range.first}-${range.first + n - 1}`;
}

/** A port range as it is written in the env file. */
export const showRange = (r: PortRange): string => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`);

export interface Timeouts {
  NGINX_CONNECT_TIMEOUT_MS: number;
  NGINX_READ_TIMEOUT_MS: number;
  NGINX_RETRY_TIMEOUT_MS: number;
}

/** `make status`'s line: what makes Nginx give up on a replica and try the next (docs/failover.md says what each trades). */
export function timeoutsLine(t: Timeouts & { NGINX_SEND_TIMEOUT_MS: number }): string {
  return (
    `Nginx timeouts: connect ${t.NGINX_CONNECT_TIMEOUT_MS} ms, read ${t.NGINX_READ_TIMEOUT_MS} ms, send ${t.NGINX_SEND_TIMEOUT_MS} ms ` +
    `per attempt; a request's retries within ${t.NGINX_RETRY_TIMEOUT_MS} ms (NGINX_*_TIMEOUT_MS)`
  );
}

/** The problem with the retry bound for pools of `blue` and `green` replicas, or undefined. */
export function retryProblem(t: Timeouts, blue: number, green: number): string | undefined {
  const n = Math.max(blue, green);
  const slower = Math.max(t.NGINX_CONNECT_TIMEOUT_MS, t.NGINX_READ_TIMEOUT_MS);
  if (t.NGINX_RETRY_TIMEOUT_MS > n * slower) return undefined;
  return (
    `NGINX_RETRY_TIMEOUT_MS=${t.NGINX_RETRY_TIMEOUT_MS} must exceed ${n} replicas x ${slower} ms ` +
    `(the slower of NGINX_CONNECT_TIMEOUT_MS and NGINX_READ_TIMEOUT_MS) = ${n * slower} ms, ` +
    'or a request whose primary replicas all hang never reaches the backup'
  );
}
