// The proxy benchmark's copies of the stack's Nginx: its image, environment,
// control volume, network, capabilities, logging and health check, with the
// image's template as it is (variant `runtime`: the per-request choice of the
// serving pool, `proxy_pass http://$bg_upstream;`) or without that choice,
// as main had it (variant `static`: `proxy_pass http://<pool>_primary;`).
// Measured side by side, the two tell what choosing the pool per request
// costs; the `runtime` copy against the stack's own Nginx tells what the
// copies' surroundings change (no watcher follows their logs).
//
// A copy's access log goes to an anonymous volume of its own (the same kind
// of filesystem as the stack's nginx_logs volume, so a log line costs the same
// write), never to nginx_logs: the watcher must not read its lines.
// A copy is removed by remove(), and also on SIGINT, SIGTERM, SIGHUP or any
// exit of this process; only a SIGKILL leaves it behind (the name and the
// label bluegreen.bench=proxy-nginx-copy say what it was).
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PoolName } from '../../ops/stack/index.js';

const run = promisify(execFile);

/** The template's run-time choice of upstream (nginx/templates/default.conf.template). */
export const DYNAMIC_PROXY_PASS = 'proxy_pass http://$bg_upstream;';
/** Today's main: the upstream fixed when the template is rendered. */
export const staticProxyPass = (pool: PoolName): string => `proxy_pass http://${pool}_primary;`;
const TEMPLATE_IN_IMAGE = '/etc/nginx/templates/default.conf.template';
const RENDERED_IN_CONTAINER = '/etc/nginx/conf.d/default.conf';
const LOG_DIR = '/var/log/bluegreen';
const CONTROL_DIR = '/etc/bluegreen';
const LABEL = 'bluegreen.bench=proxy-nginx-copy';
const READY_TIMEOUT_MS = 30_000;

const BLOCK_BEGIN = '# BEGIN run-time choice of the serving pool';
const BLOCK_END = '# END run-time choice of the serving pool';

/**
 * `template` as main had it before the run-time choice: its one run-time
 * proxy_pass replaced by the static one, and the block that sets
 * $bg_upstream per request (between the BEGIN and END comments) replaced by
 * a constant.
 * Throws unless there is exactly one of each.
 */
export function staticTemplate(template: string, pool: PoolName): string {
  const lines = template.split('\n');
  const find = (what: (line: string) => boolean, name: string) => {
    const at = lines.flatMap((line, i) => (what(line.trim()) ? [i] : []));
    if (at.length !== 1) throw new Error(`the Nginx template has ${at.length} lines "${name}", expected exactly one: cannot build its static variant`);
    return at[0] as number;
  };
  const pass = find((l) => l === DYNAMIC_PROXY_PASS, DYNAMIC_PROXY_PASS);
  const begin = find((l) => l.startsWith(BLOCK_BEGIN), BLOCK_BEGIN);
  const end = find((l) => l.startsWith(BLOCK_END), BLOCK_END);
  if (!(begin < end && (pass < begin || pass > end))) throw new Error('the Nginx template\'s run-time choice block is malformed: cannot build its static variant');
  lines[pass] = (lines[pass] as string).replace(DYNAMIC_PROXY_PASS, staticProxyPass(pool));
  lines.splice(begin, end - begin + 1);
  // $bg_upstream must still exist (X-Serving-Pool's map reads it): a map is
  // evaluated only where used, /nginx-health, so the proxied requests pay nothing.
  return [`map "" $bg_upstream { default ${pool}_primary; }`, ...lines].join('\n');
}

/** The parts of `docker inspect` of the stack's Nginx that the copy repeats. */
interface Inspected {
  Id: string;
  Image: string;
  Config: {
    Env: string[] | null;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } | null;
  };
  HostConfig: {
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  };
  Mounts: { Source: string; Destination: string; RW: boolean }[] | null;
  NetworkSettings: { Networks: Record<string, unknown> | null };
}

async function inspect(id: string): Promise<Inspected> {
  const { stdout } = await run('docker', ['inspect', '--type', 'container', id]);
  const [it] = JSON.parse(stdout) as Inspected[];
  if (!it) throw new Error(`docker inspect ${id.slice(0, 12)}: no such container`);
  return it;
}

const shellQuote = (arg: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
const ms = (ns: number | undefined) => (ns ? `${Math.round(ns / 1e6)}ms` : undefined);

/** `docker create` options for the stack container's health check, as Compose gave it. */
function healthOptions(h: Inspected['Config']['Healthcheck']): string[] {
  const test = h?.Test ?? [];
  const [kind, ...args] = test;
  if (kind === undefined || kind === 'NONE') return kind === 'NONE' ? ['--no-healthcheck'] : [];
  // The CLI takes a shell command only: `exec` keeps it one process, as Compose's exec form is.
  const cmd = kind === 'CMD-SHELL' ? (args[0] ?? '') : `exec ${args.map(shellQuote).join(' ')}`;
  const opts = ['--health-cmd', cmd];
  for (const [flag, value] of [
    ['--health-interval', ms(h?.Interval)],
    ['--health-timeout', ms(h?.Timeout)],
    ['--health-start-period', ms(h?.StartPeriod)],
    ['--health-retries', h?.Retries ? String(h.Retries) : undefined],
  ] as const) {
    if (value !== undefined) opts.push(flag, value);
  }
  return opts;
}

export type CopyVariant = 'runtime' | 'static';

export interface NginxCopy {
  variant: CopyVariant;
  id: string;
  name: string;
  /** http://127.0.0.1:<port>, the port Docker chose. */
  origin: string;
  port: number;
  /** The image id it runs: the stack's Nginx's. */
  image: string;
  /** The proxy_pass line of its rendered config, read back from the container. */
  proxyPass: string;
  networks: string[];
  /** Removes the container and its log volume; safe to call more than once. */
  remove(): void;
}

export interface NginxCopyOptions {
  /** `static`: the template without its run-time choice (staticTemplate); `runtime`: the template unchanged. */
  variant: CopyVariant;
  /** Container id of the stack's Nginx, whose settings are copied. */
  stackNginxId: string;
  /** The image the stack's Nginx should run (bluegreen-nginx:<IMAGE_TAG>); a mismatch is reported. */
  expectedImage: string;
  /** The pool a copy must serve from (and the static proxy_pass names): the one the stack's Nginx serves from. */
  pool: PoolName;
  log?: (line: string) => void;
}

/** Starts a copy and resolves once it serves `pool` on its port; removes it again if any step fails. */
export async function startNginxCopy(opts: NginxCopyOptions): Promise<NginxCopy> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const stack = await inspect(opts.stackNginxId);
  const networks = Object.keys(stack.NetworkSettings.Networks ?? {});
  if (networks.length === 0) throw new Error('the stack’s nginx container is on no network');
  const { stdout: tagged } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', opts.expectedImage]).catch(() => ({ stdout: '' }));
  if (tagged.trim() !== stack.Image) {
    log(
      `WARNING: ${opts.expectedImage} is ${tagged.trim().slice(7, 19) || 'missing'}, the stack’s nginx runs ${stack.Image.slice(7, 19)} ` +
        '(rebuilt but not restarted?): the copies use the stack’s image',
    );
  }
  // The template the stack's image renders, so that only the proxy_pass line differs.
  const { stdout: template } = await run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'cat', stack.Image, TEMPLATE_IN_IMAGE]);
  const text = opts.variant === 'static' ? staticTemplate(template, opts.pool) : template;
  const expected = opts.variant === 'static' ? staticProxyPass(opts.pool) : DYNAMIC_PROXY_PASS;

  const name = `bluegreen-bench-nginx-${opts.variant}-${process.pid}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'bluegreen-bench-'));
  chmodSync(dir, 0o755);
  const templateFile = path.join(dir, 'default.conf.template');
  writeFileSync(templateFile, text, { mode: 0o644 });

  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const signal of SIGNALS) process.off(signal, onSignal);
    process.off('exit', remove);
    try {
      execFileSync('docker', ['rm', '--force', '--volumes', name], { stdio: 'ignore' });
    } catch {
      // Never created, or already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: removing ${name}`);
    remove();
    process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
  };
  // Before the container exists: a Ctrl-C during `docker create` still removes it, by name.
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', remove);

  try {
    const controlMount = (stack.Mounts ?? []).find((m) => m.Destination === CONTROL_DIR);
    const logConfig = stack.HostConfig.LogConfig;
    const args = [
      'create',
      '--name', name,
      '--label', LABEL,
      '--network', networks[0] as string,
      '--publish', '127.0.0.1::80',
      ...(stack.Config.Env ?? []).flatMap((e) => ['--env', e]),
      ...(stack.HostConfig.CapDrop ?? []).flatMap((c) => ['--cap-drop', c]),
      ...(stack.HostConfig.CapAdd ?? []).flatMap((c) => ['--cap-add', c]),
      ...(stack.HostConfig.SecurityOpt ?? []).flatMap((o) => ['--security-opt', o]),
      ...(logConfig?.Type ? ['--log-driver', logConfig.Type] : []),
      ...Object.entries(logConfig?.Config ?? {}).flatMap(([k, v]) => ['--log-opt', `${k}=${v}`]),
      ...healthOptions(stack.Config.Healthcheck),
      // The same control volume: njs reads the same file every 100 ms.
      ...(controlMount ? ['--volume', `${controlMount.Source}:${CONTROL_DIR}:ro`] : []),
      // Its own log volume, removed with it (docker rm --volumes): not nginx_logs.
      '--mount', `type=volume,destination=${LOG_DIR}`,
      '--volume', `${templateFile}:${TEMPLATE_IN_IMAGE}:ro`,
      stack.Image,
    ];
    const { stdout: created } = await run('docker', args);
    const id = created.trim();
    for (const network of networks.slice(1)) await run('docker', ['network', 'connect', network, id]);
    await run('docker', ['start', id]);
    const { stdout: ports } = await run('docker', ['port', id, '80/tcp']);
    const port = Number(/^127\.0\.0\.1:(\d+)$/m.exec(ports)?.[1]);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`${name}: no port on 127.0.0.1 for 80/tcp (docker port: ${ports.trim()})`);
    const origin = `http://127.0.0.1:${port}`;
    await untilServing(id, name, origin, opts.pool);
    // Read back, before any CPU is counted: the rendered config's one proxy_pass must be the variant's.
    const { stdout: rendered } = await run('docker', ['exec', id, 'grep', '-E', '^[[:space:]]*proxy_pass[[:space:]]', RENDERED_IN_CONTAINER]);
    const proxyPass = rendered.trim();
    if (proxyPass !== expected) throw new Error(`${name}: rendered ${RENDERED_IN_CONTAINER} has "${proxyPass}", expected "${expected}"`);
    return { variant: opts.variant, id, name, origin, port, image: stack.Image, proxyPass, networks, remove };
  } catch (err) {
    let logs = '';
    try {
      logs = execFileSync('docker', ['logs', '--tail', '20', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      // No container to read.
    }
    remove();
    if (logs) log(`${name}, last log lines:\n${logs}`);
    throw err;
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Waits until `origin` answers /nginx-health and serves /version from `pool`. */
async function untilServing(id: string, name: string, origin: string, pool: PoolName): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const health = await fetch(`${origin}/nginx-health`, { signal: AbortSignal.timeout(2_000) });
      await health.arrayBuffer();
      if (health.ok) {
        const version = await fetch(`${origin}/version`, { signal: AbortSignal.timeout(2_000) });
        await version.arrayBuffer();
        const served = version.headers.get('x-app-pool');
        if (version.status === 200 && served === pool) return;
        last = `/version answered ${version.status} from pool ${served ?? '-'}`;
      } else {
        last = `/nginx-health answered ${health.status}`;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    const { stdout: state } = await run('docker', ['inspect', '--format', '{{.State.Status}}', id]);
    if (state.trim() !== 'running') throw new Error(`${name} is ${state.trim()}, not running`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${name} did not serve pool ${pool} on ${origin} within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`);
}
