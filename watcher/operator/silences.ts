// `ctl maintenance on|off` with ALERTMANAGER_URL set: besides the watcher's
// own maintenance file, a silence in every Alertmanager matching this stack's
// alerts (stack=ALERTMANAGER_STACK), so the alerts of every watcher of the
// stack are held, not only this one's. The silences' ids are kept in
// CONTROL_DIR/alertmanager-silences.json, so `off` expires exactly those.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { z } from 'zod';
import { createSilence, expireSilence, hostOf } from '../notify/alertmanagerApi.js';
import { maintenanceSilence } from '../notify/alertmanagerAlert.js';
import { writeAtomic } from '../../common/atomicFile.js';
import { readBoundedFile } from '../state/readFile.js';

export const SILENCES_FILE = 'alertmanager-silences.json';
/** Alertmanager wants an end: maintenance longer than a week needs `make maintenance-on` again. */
export const SILENCE_MAX_MS = 7 * 24 * 3600 * 1000;
const FILE_MAX_BYTES = 64 * 1024;

const savedSchema = z.array(z.object({ url: z.string(), id: z.string().min(1) })).max(1000);
type Saved = z.output<typeof savedSchema>;

export interface SilenceSettings {
  CONTROL_DIR: string;
  ALERTMANAGER_URL: readonly string[];
  ALERTMANAGER_STACK: string;
  ALERTMANAGER_TIMEOUT_MS: number;
}

export interface SilenceOutcome {
  /** One line per Alertmanager: what happened there. */
  lines: string[];
  ok: boolean;
}

function load(dir: string): Saved {
  const read = readBoundedFile(join(dir, SILENCES_FILE), FILE_MAX_BYTES);
  if (read.kind !== 'ok') return [];
  try {
    return savedSchema.parse(JSON.parse(read.text));
  } catch {
    return [];
  }
}

function save(dir: string, saved: Saved): void {
  if (saved.length === 0) rmSync(join(dir, SILENCES_FILE), { force: true });
  else writeAtomic(dir, SILENCES_FILE, `${JSON.stringify(saved)}\n`);
}

/** Creates this stack's silence in each Alertmanager; keeps the ids of those that took it. */
export async function silenceStack(config: SilenceSettings, who: string, now = Date.now()): Promise<SilenceOutcome> {
  const silence = maintenanceSilence({ stack: config.ALERTMANAGER_STACK, now, durationMs: SILENCE_MAX_MS, createdBy: who });
  const saved = load(config.CONTROL_DIR);
  const results = await Promise.all(config.ALERTMANAGER_URL.map((url) => createSilence(url, silence, config.ALERTMANAGER_TIMEOUT_MS)));
  const lines: string[] = [];
  results.forEach((result, i) => {
    const url = config.ALERTMANAGER_URL[i]!;
    if (result.ok) {
      saved.push({ url: hostOf(url), id: result.id });
      lines.push(`silence ${result.id} in Alertmanager ${hostOf(url)}: alerts with stack="${config.ALERTMANAGER_STACK}" are held`);
    } else {
      lines.push(`NO silence in Alertmanager ${hostOf(url)}: ${result.reason}`);
    }
  });
  save(config.CONTROL_DIR, saved);
  return { lines, ok: results.every((r) => r.ok) };
}

/** Expires every silence `silenceStack` made; those that cannot be expired now stay listed for the next try. */
export async function unsilenceStack(config: SilenceSettings): Promise<SilenceOutcome> {
  const saved = load(config.CONTROL_DIR);
  const byHost = new Map(config.ALERTMANAGER_URL.map((url) => [hostOf(url), url]));
  const left: Saved = [];
  const lines: string[] = [];
  for (const entry of saved) {
    // The URL as configured now (with its credentials); a silence of an Alertmanager no longer configured is dropped.
    const url = byHost.get(entry.url);
    if (url === undefined) {
      lines.push(`silence ${entry.id} in ${entry.url}: that Alertmanager is no longer in ALERTMANAGER_URL; expire it there by hand`);
      continue;
    }
    const result = await expireSilence(url, entry.id, config.ALERTMANAGER_TIMEOUT_MS);
    if (result.ok) lines.push(`silence ${entry.id} in Alertmanager ${entry.url} expired`);
    else {
      left.push(entry);
      lines.push(`silence ${entry.id} in Alertmanager ${entry.url} NOT expired: ${result.reason}`);
    }
  }
  if (saved.length === 0) lines.push('no Alertmanager silence to expire');
  save(config.CONTROL_DIR, left);
  return { lines, ok: left.length === 0 };
}
