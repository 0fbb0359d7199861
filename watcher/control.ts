// Run-time control through files in CONTROL_DIR, so an operator (via ctl.ts)
// changes behaviour without a restart:
//   maintenance            "on" | "off": overrides MAINTENANCE_MODE
//   planned-switch.json    a PlannedSwitch announced before `make switch`
// The daemon reads them synchronously when an alert is decided: alerts are
// rare, and a fresh read means no stale cache and no watcher to go wrong.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../common/logger.js';
import { writeAtomic } from './atomicFile.js';
import type { Clock, PlannedSwitch } from './types.js';

export const MAINTENANCE_FILE = 'maintenance';
export const PLANNED_SWITCH_FILE = 'planned-switch.json';

const plannedSwitchSchema = z.object({
  id: z.string().min(1),
  from: z.string().optional(),
  to: z.string().min(1),
  createdAt: z.number(),
  expiresAt: z.number(),
});

export interface ControlOptions {
  dir: string;
  /** MAINTENANCE_MODE: what applies while the file is absent or unreadable. */
  defaultMaintenance: boolean;
  clock: Clock;
  logger: Logger;
}

export interface Control {
  /** Effective maintenance mode; logs each change of it. */
  maintenance(): boolean;
  /** The announced switch, unless missing, expired or corrupt. */
  plannedSwitch(): PlannedSwitch | undefined;
}

export function createControl(opts: ControlOptions): Control {
  const log = opts.logger.child({ component: 'control' });
  let last: boolean | undefined;
  return {
    maintenance() {
      const fromFile = readMaintenance(opts.dir, log);
      const effective = fromFile ?? opts.defaultMaintenance;
      if (effective !== last) {
        log.info(
          { maintenance: effective, source: fromFile === undefined ? 'MAINTENANCE_MODE' : MAINTENANCE_FILE },
          `maintenance mode ${effective ? 'on' : 'off'}`,
        );
        last = effective;
      }
      return effective;
    },
    plannedSwitch() {
      return readPlannedSwitch(opts.dir, opts.clock(), log);
    },
  };
}

function readMaintenance(dir: string, log: Logger): boolean | undefined {
  const raw = readIfExists(join(dir, MAINTENANCE_FILE), log);
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (value === 'on') return true;
  if (value === 'off') return false;
  log.warn({ file: MAINTENANCE_FILE, content: value.slice(0, 40) }, 'ignoring maintenance file: expected "on" or "off"');
  return undefined;
}

function readPlannedSwitch(dir: string, now: number, log: Logger): PlannedSwitch | undefined {
  const raw = readIfExists(join(dir, PLANNED_SWITCH_FILE), log);
  if (raw === undefined) return undefined;
  let marker: z.output<typeof plannedSwitchSchema>;
  try {
    marker = plannedSwitchSchema.parse(JSON.parse(raw));
  } catch (err) {
    log.warn({ file: PLANNED_SWITCH_FILE, error: (err as Error).message.slice(0, 200) }, 'ignoring corrupt planned-switch marker');
    return undefined;
  }
  return marker.expiresAt > now ? { ...marker, from: marker.from } : undefined;
}

/**
 * The primary pool Nginx was last configured with, which it publishes on the
 * log volume at start and on every switch. A watcher restarted after a
 * `make switch` starts from it, not from a stale ACTIVE_POOL.
 */
export function readPublishedPool(file: string, pools: readonly string[], log: Logger): string | undefined {
  const raw = readIfExists(file, log);
  if (raw === undefined) return undefined;
  const pool = raw.trim();
  if (pools.includes(pool)) return pool;
  log.warn({ file, content: pool.slice(0, 40) }, `ignoring the published pool: expected one of ${pools.join(', ')}`);
  return undefined;
}

/** Only a missing file is normal; any other failure is logged and read as missing, never fatal. */
function readIfExists(file: string, log: Logger): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const error = err as NodeJS.ErrnoException;
    if (error.code !== 'ENOENT') log.warn({ file, code: error.code }, 'cannot read control file; ignoring it');
    return undefined;
  }
}

export function writeMaintenance(dir: string, on: boolean): string {
  return writeAtomic(dir, MAINTENANCE_FILE, on ? 'on\n' : 'off\n');
}

export function announcePlannedSwitch(
  dir: string,
  sw: { from: string | undefined; to: string; ttlMs: number; now: number },
): PlannedSwitch {
  const marker: PlannedSwitch = {
    id: randomUUID(),
    from: sw.from,
    to: sw.to,
    createdAt: sw.now,
    expiresAt: sw.now + sw.ttlMs,
  };
  writeAtomic(dir, PLANNED_SWITCH_FILE, `${JSON.stringify(marker)}\n`);
  return marker;
}
