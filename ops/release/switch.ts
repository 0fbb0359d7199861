// The planned switch of the serving pool, `make switch POOL=green [FORCE=1]`
// and a release's promotion. Order matters: check the target, tell the
// watcher, write the control volume's file, wait until Nginx serves from it,
// record. Nothing restarts or reloads: Nginx reads the file at run time
// (nginx/njs/serving-pool.js).
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolName } from '../../common/config.js';
import { answersStatus, ctl, lastLine, listReplicas, servingPoolFile, type PoolName, type StackSettings } from '../stack/index.js';
import { Refusal } from './refusal.js';

/** Nginx reads the file every 100 ms; 5 s is far past any healthy Nginx. */
export const FOLLOW_MS = 5_000;

export interface SwitchOptions {
  /** Skip the readiness check (FORCE=1, or a release that checked just before). */
  force: boolean;
  reason: string;
  who: string;
  /** Aborted by Ctrl-C (or SIGTERM): the switch is undone, then it rejects. */
  signal?: AbortSignal;
  /** Each line of progress; stdout by default. */
  say?: (line: string) => void;
  /** Warnings and what went wrong, stderr by default. */
  warn?: (line: string) => void;
}

export interface Switched {
  from: PoolName;
  /** When Nginx served the new pool (epoch ms). */
  servedAt: number;
  /** From the write of the control file to Nginx serving the new pool. */
  ms: number;
}

/** Interrupted (Ctrl-C): the switch was undone; exit 128 + the signal. */
export class Interrupted extends Refusal {}

/**
 * The last line of a switch, `switch: now serving from app_green, 41 ms after
 * the switch (…)`: the milliseconds from its write of the control file to
 * Nginx serving the new pool, or undefined for any other line.
 */
export function switchServedMs(line: string): number | undefined {
  const m = /^switch: now serving from app_(?:blue|green), (\d+) ms after the switch/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** The pool a request sent to Nginx now goes to (its /nginx-health says), or undefined. */
export async function nginxServing(s: Pick<StackSettings, 'NGINX_PORT'>, timeoutMs = 1_000): Promise<PoolName | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${s.NGINX_PORT}/nginx-health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    const pool = poolName.safeParse(res.headers.get('x-serving-pool') ?? '');
    return pool.success ? pool.data : undefined;
  } catch {
    return undefined;
  }
}

/** Each replica's /readyz on its direct port, as `make ready` prints it; `ok` when every one answered 200. */
export async function readiness(s: StackSettings, pools: readonly PoolName[]): Promise<{ ok: boolean; lines: string[] }> {
  const row = (pool: string, index: string, address: string, readyz: string) => `${pool.padEnd(6)} ${index.padEnd(8)} ${address.padEnd(22)} ${readyz}`;
  const lines = [row('POOL', 'REPLICA', 'ADDRESS', 'READYZ')];
  let ok = true;
  for (const pool of pools) {
    let replicas;
    try {
      replicas = await listReplicas(s, pool);
    } catch (err) {
      lines.push(`${pool}: ${(err as Error).message}`);
      ok = false;
      continue;
    }
    const codes = await Promise.all(
      replicas.map((r) => (r.port === undefined ? Promise.resolve(undefined) : answersStatus(`http://127.0.0.1:${r.port}/readyz`, 3_000))),
    );
    replicas.forEach((r, i) => {
      const code = codes[i];
      if (code !== 200) ok = false;
      if (r.port === undefined) lines.push(row(pool, String(r.index), '-', 'no direct port'));
      else lines.push(row(pool, String(r.index), `127.0.0.1:${r.port}`, code === undefined ? 'no answer' : String(code)));
    });
  }
  return { ok, lines };
}

/** Atomically, by rename: Nginx never reads half a file. */
function writeControl(file: string, dir: string, pool: PoolName): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${pool}\n`);
  chmodSync(tmp, 0o644);
  renameSync(tmp, file);
}

/** The switch itself; the caller holds the release lock. Rejects with a Refusal (exit 1) saying why. */
export async function planSwitch(s: StackSettings, pool: PoolName, opts: SwitchOptions): Promise<Switched> {
  const say = opts.say ?? ((l: string) => console.log(l));
  const warn = opts.warn ?? ((l: string) => console.error(l));
  const control = servingPoolFile(s);
  const dir = dirname(control);
  if (!opts.force) {
    // Every replica of the pool, each on its own direct port: not one that a DNS lookup happens to pick.
    const ready = await readiness(s, [pool]);
    if (!ready.ok) {
      for (const line of ready.lines) warn(line);
      throw new Refusal(`app_${pool} is not ready (a replica's /readyz failed, above); refusing to switch. FORCE=1 overrides.`);
    }
  }
  const from = await nginxServing(s);
  if (from === undefined) throw new Refusal(`Nginx does not answer on http://127.0.0.1:${s.NGINX_PORT}/nginx-health (is the stack up? make up)`);

  // The audit trail (make history); losing an entry must not fail the switch.
  const audit = async (outcome: string) => {
    const r = await ctl(s.ENV_FILE, ['record', '--action', 'switch', '--outcome', outcome, '--pool', pool, '--from-pool', from, '--reason', opts.reason, '--who', opts.who]);
    if (r.code !== 0) warn(`switch: WARNING: not recorded in the history: ${lastLine(r.output)}`);
  };
  const interrupted = () => {
    if (opts.signal?.aborted) throw new Interrupted('interrupted');
  };

  // A marker left by a switch that did not happen would report a real
  // failover to the pool as "Planned switch" until it expires; a control file
  // left behind would switch later. Both undo steps are idempotent.
  let written = false;
  try {
    // The watcher must know before the first request reaches the new pool, or it would page the switch as a failover.
    const announced = await ctl(s.ENV_FILE, ['planned-switch', pool]);
    if (announced.code !== 0) warn(`switch: WARNING: could not tell alert_watcher; it may report this switch as a failover: ${lastLine(announced.output)}`);
    interrupted();
    const started = Date.now();
    written = true;
    try {
      writeControl(control, dir, pool);
    } catch (err) {
      throw new Refusal(`cannot write ${control} (owned by another user? ls -l ${dir}): ${(err as Error).message}`);
    }
    const deadline = started + FOLLOW_MS;
    let now = await nginxServing(s);
    while (now !== pool) {
      interrupted();
      if (Date.now() > deadline) {
        throw new Refusal(`Nginx still serves from ${from} 5 s after ${control} said ${pool} (docker compose logs nginx says why)`);
      }
      await sleep(10);
      now = await nginxServing(s);
    }
    const servedAt = Date.now();
    // Nginx serves the pool now: the marker is right, whatever happens next.
    say(`switch: now serving from app_${pool}, ${servedAt - started} ms after the switch (was ${from}; kept in ${control})`);
    await audit('ok');
    return { from, servedAt, ms: servedAt - started };
  } catch (err) {
    if (written) {
      try {
        writeControl(control, dir, from);
        warn(`switch: put ${from} back in ${control}`);
      } catch {
        warn(`switch: WARNING: could not put ${from} back in ${control}: check it (make status)`);
      }
    }
    warn('switch: failed or interrupted; withdrawing the planned-switch marker');
    const cancel = await ctl(s.ENV_FILE, ['planned-switch', '--cancel']);
    if (cancel.code !== 0) warn(`switch: WARNING: could not withdraw the marker; a failover to ${pool} may be reported as planned until it expires`);
    await audit('failed');
    throw err;
  }
}
