// Run-time control through files in CONTROL_DIR, so an operator (via ctl.ts)
// changes behaviour without a restart:
//   maintenance            "on" | "off": overrides MAINTENANCE_MODE
//   planned-switch.json    a PlannedSwitch announced before `make switch`
// (The same directory holds the audit trail and the release outbox: see
// history.ts and outbox.ts.)
// The daemon checks them synchronously when an alert is decided: one stat,
// and a read only when the file changed, so there is no cache that can go
// stale and no file watcher to go wrong. Reads are bounded (readFile.ts): a
// FIFO or a device in CONTROL_DIR is ignored with a warning, never waited on.
import { randomUUID } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { poolName } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import { writeAtomic } from '../../common/atomicFile.js';
import { issueOf } from '../history.js';
import { readBoundedFile } from './readFile.js';
import { switchIdSchema } from './stateSchema.js';
import type { Clock, PlannedSwitch } from '../types.js';

export const MAINTENANCE_FILE = 'maintenance';
export const PLANNED_SWITCH_FILE = 'planned-switch.json';

/** The control files hold a word or a short JSON object; anything larger is not ours. */
const CONTROL_FILE_MAX_BYTES = 4096;

// The id is bounded as the checkpoint keeps it (usedSwitchIds): a marker it
// could not keep is refused here, when read and when written.
const plannedSwitchSchema = z.object({
  id: switchIdSchema,
  from: poolName.optional(),
  to: poolName,
  createdAt: z.number(),
  expiresAt: z.number(),
});

export interface ControlOptions {
  dir: string;
  /** MAINTENANCE_MODE: what applies while the file is absent or unreadable. */
  defaultMaintenance: boolean;
  clock: Clock;
  logger: Logger;
  /** Where Nginx publishes its primary (ACTIVE_POOL_FILE); without it, publishedPool() is always undefined. */
  publishedPoolFile?: string;
}

export interface Control {
  /** Effective maintenance mode; logs each change of it. */
  maintenance(): boolean;
  /** The announced switch, unless missing, expired or corrupt. */
  plannedSwitch(): PlannedSwitch | undefined;
  /** The primary Nginx last published (see readPublishedPool). */
  publishedPool(): string | undefined;
}

export function createControl(opts: ControlOptions): Control {
  const log = opts.logger.child({ component: 'control' });
  const maintenanceFile = cachedReader(join(opts.dir, MAINTENANCE_FILE), log, (raw) => parseMaintenance(raw, log));
  const plannedSwitchFile = cachedReader(join(opts.dir, PLANNED_SWITCH_FILE), log, (raw) => parsePlannedSwitch(raw, log));
  const file = opts.publishedPoolFile;
  const publishedFile = file === undefined ? () => undefined : cachedReader(file, log, (raw) => parsePublishedPool(raw, file, log));
  let last: boolean | undefined;
  return {
    maintenance() {
      const fromFile = maintenanceFile();
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
      const marker = plannedSwitchFile();
      return marker !== undefined && marker.expiresAt > opts.clock() ? marker : undefined;
    },
    publishedPool: publishedFile,
  };
}

/**
 * Reads `file` again only when its inode, mtime or size changed. Every write
 * (ctl.ts, switch.sh) replaces the file by rename, so a change always shows in
 * one stat: a syscall per alert instead of open, read and close, which a
 * flapping pool raising an alert every few lines would feel.
 */
function cachedReader<T>(file: string, log: Logger, parse: (raw: string | undefined) => T): () => T {
  let seen: string | undefined;
  let value!: T;
  return () => {
    let version = 'absent';
    try {
      const st = statSync(file, { throwIfNoEntry: false });
      if (st !== undefined) version = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      version = 'unreadable';
    }
    if (version !== seen) {
      value = parse(readIfExists(file, log));
      seen = version;
    }
    return value;
  };
}

function parseMaintenance(raw: string | undefined, log: Logger): boolean | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (value === 'on') return true;
  if (value === 'off') return false;
  log.warn({ file: MAINTENANCE_FILE, content: value.slice(0, 40) }, 'ignoring maintenance file: expected "on" or "off"');
  return undefined;
}

function parsePlannedSwitch(raw: string | undefined, log: Logger): PlannedSwitch | undefined {
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    log.warn({ file: PLANNED_SWITCH_FILE, error: 'not JSON' }, 'ignoring corrupt planned-switch marker');
    return undefined;
  }
  const marker = plannedSwitchSchema.safeParse(json);
  if (!marker.success) {
    log.warn({ file: PLANNED_SWITCH_FILE, error: issueOf(marker.error) }, 'ignoring corrupt planned-switch marker');
    return undefined;
  }
  return { ...marker.data, from: marker.data.from };
}

/**
 * The primary pool Nginx was last configured with, which it publishes on the
 * log volume at start and on every switch. A watcher restarted after a
 * `make switch` starts from it, not from a stale ACTIVE_POOL.
 */
export function readPublishedPool(file: string, log: Logger): string | undefined {
  return parsePublishedPool(readIfExists(file, log), file, log);
}

function parsePublishedPool(raw: string | undefined, file: string, log: Logger): string | undefined {
  if (raw === undefined) return undefined;
  const pool = raw.trim();
  const pools: readonly string[] = poolName.options;
  if (pools.includes(pool)) return pool;
  log.warn({ file, content: pool.slice(0, 40) }, `ignoring the published pool: expected one of ${pools.join(', ')}`);
  return undefined;
}

/** Only a missing file is normal; anything else is logged and read as missing, never fatal. */
function readIfExists(file: string, log: Logger): string | undefined {
  const read = readBoundedFile(file, CONTROL_FILE_MAX_BYTES);
  if (read.kind === 'rejected') log.warn({ file, reason: read.reason }, `ignoring control file: ${read.reason}`);
  return read.kind === 'ok' ? read.text : undefined;
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
  const valid = plannedSwitchSchema.safeParse(marker);
  if (!valid.success) throw new RangeError(`planned switch not announced: ${issueOf(valid.error)}`);
  writeAtomic(dir, PLANNED_SWITCH_FILE, `${JSON.stringify(marker)}\n`);
  return marker;
}

/**
 * Removes the planned-switch marker, for a switch that did not happen: left
 * in place, it would report a real failover to its pool as planned until it
 * expires. True if there was one; removing none is not an error.
 */
export function withdrawPlannedSwitch(dir: string): boolean {
  try {
    unlinkSync(join(dir, PLANNED_SWITCH_FILE));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
