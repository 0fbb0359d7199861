// The CLI's command line, pure: which command, its per-run arguments (MODE,
// POOL…) and the settings given on the command line. Make hands a target's
// arguments over in the environment, ARG_<NAME>, set only when given on make's
// command line and never re-parsed by a shell; a direct call gives them as
// words, `node dist/ops/cli/main.js chaos MODE=timeout NGINX_PORT=18080`.
// Every bad value is one line, and exit 2.
import { poolName } from '../../common/config.js';
import { releaseId } from '../../watcher/history.js';
import { imageRef, MAX_REPLICAS, type PoolName } from '../stack/index.js';

export const ARG_NAMES = ['MODE', 'RATE', 'POOL', 'REPLICA', 'FORCE', 'RELEASE', 'IMAGE', 'REASON', 'N', 'RPS', 'DURATION'] as const;
export type ArgName = (typeof ARG_NAMES)[number];
export type Args = Partial<Record<ArgName, string>>;

/** Bad usage or a bad value: one line, exit 2; `showUsage` only when the command itself is wrong. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

export interface CommandLine {
  command: string | undefined;
  args: Args;
  /** KEY=VALUE words that are not arguments: settings, which win over the environment and the env file. */
  settings: Record<string, string>;
}

const isArg = (key: string): key is ArgName => (ARG_NAMES as readonly string[]).includes(key);

/** argv after the script, and the environment (ARG_<NAME> from make); a word wins over ARG_. */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): CommandLine {
  const [command, ...words] = argv;
  const args: Args = {};
  for (const name of ARG_NAMES) {
    const value = env[`ARG_${name}`];
    if (value !== undefined) args[name] = value;
  }
  const settings: Record<string, string> = {};
  for (const word of words) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/s.exec(word);
    if (!m) throw new UsageError(`expected KEY=VALUE (got "${word}")`, true);
    const [, key, value] = m as unknown as [string, string, string];
    if (isArg(key)) args[key] = value;
    else settings[key] = value;
  }
  return { command, args, settings };
}

const given = (v: string | undefined): v is string => v !== undefined && v !== '';

export function parsePool(cmd: string, raw: string | undefined): PoolName {
  const pool = poolName.safeParse(raw ?? '');
  if (!pool.success) throw new UsageError(`${cmd}: POOL must be blue or green (got '${raw ?? ''}')`);
  return pool.data;
}

const optionalPool = (cmd: string, raw: string | undefined): PoolName | undefined => (given(raw) ? parsePool(cmd, raw) : undefined);

/** FORCE=1 forces; anything else does not, as before. */
const force = (raw: string | undefined): boolean => raw === '1';

function wholeNumber(cmd: string, name: string, raw: string, min: number, max: number, what: string): number {
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${cmd}: ${name} must be ${what} (got '${raw}')`);
  }
  return Number(raw);
}

export interface ChaosRequest {
  pool: PoolName | undefined;
  mode: 'error' | 'timeout';
  rate: number;
  replica: number | undefined;
}

export function chaosRequest(a: Args): ChaosRequest {
  const mode = given(a.MODE) ? a.MODE : 'error';
  if (mode !== 'error' && mode !== 'timeout') throw new UsageError(`chaos: MODE must be error or timeout (got '${mode}')`);
  const rateRaw = given(a.RATE) ? a.RATE : '1';
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(rateRaw)) throw new UsageError(`chaos: RATE must be a share of requests from 0 to 1 (got '${rateRaw}')`);
  const replica = given(a.REPLICA)
    ? wholeNumber('chaos', 'REPLICA', a.REPLICA, 1, MAX_REPLICAS, `a replica's index from 1 to ${MAX_REPLICAS} (make status lists them)`)
    : undefined;
  return { pool: optionalPool('chaos', a.POOL), mode, rate: Number(rateRaw), replica };
}

export const switchRequest = (a: Args) => ({ pool: parsePool('switch', a.POOL), force: force(a.FORCE) });

export function scaleRequest(a: Args): { pool: PoolName; n: number } {
  const pool = parsePool('scale', a.POOL);
  const n = wholeNumber('scale', 'N', a.N ?? '', 1, MAX_REPLICAS, `a whole number of replicas from 1 to ${MAX_REPLICAS}`);
  return { pool, n };
}

export function trafficRequest(a: Args): { rps: number; seconds: number } {
  const rps = wholeNumber('traffic', 'RPS', given(a.RPS) ? a.RPS : '5', 1, 200, 'a whole number of requests a second from 1 to 200');
  const seconds = wholeNumber('traffic', 'DURATION', given(a.DURATION) ? a.DURATION : '0', 0, 999_999, 'a whole number of seconds, 0 for until Ctrl-C');
  return { rps, seconds };
}

export interface ReleaseRequest {
  release: string;
  image?: string;
  pool?: PoolName;
}

export function releaseRequest(a: Args): ReleaseRequest {
  const id = releaseId.safeParse(a.RELEASE ?? '');
  if (!id.success) throw new UsageError(`release: RELEASE: ${id.error.issues[0]?.message ?? 'invalid'} (got "${a.RELEASE ?? ''}")`);
  const request: ReleaseRequest = { release: id.data };
  if (given(a.IMAGE)) {
    const image = imageRef.safeParse(a.IMAGE);
    if (!image.success) throw new UsageError(`release: IMAGE: ${image.error.issues[0]?.message ?? 'invalid'} (got "${a.IMAGE}")`);
    request.image = image.data;
  }
  if (given(a.POOL)) {
    const pool = poolName.safeParse(a.POOL);
    if (!pool.success) throw new UsageError(`release: POOL: expected "blue" or "green" (got "${a.POOL}")`);
    request.pool = pool.data;
  }
  return request;
}

export function rollbackRequest(a: Args): { force: boolean; reason?: string } {
  const reason = a.REASON?.trim();
  if (reason !== undefined && (reason.length > 200 || /[^\x20-\x7e]/.test(reason))) {
    throw new UsageError('rollback: REASON: expected up to 200 printable characters');
  }
  return { force: force(a.FORCE), ...(reason ? { reason } : {}) };
}
