// `ctl record` and `ctl history`: the audit trail (state/history.ts) from the
// command line. The release CLI records each step with `record`; the steps
// Slack hears about also go to the daemon through the outbox (state/outbox.ts).
import { parseArgs } from 'node:util';
import { duration, fromTo } from '../notify/wording.js';
import { appendHistory, HISTORY_READ_MAX_BYTES, readHistory } from '../state/history.js';
import { historyEntrySchema, type HistoryEntry } from '../history.js';
import { isReleaseNotice, postReleaseNotice } from '../state/outbox.js';
import { BadValueError } from './usageError.js';

/** The options of `record`, each with the entry field it sets. */
const FIELDS = {
  action: 'action',
  outcome: 'outcome',
  pool: 'pool',
  'from-pool': 'fromPool',
  release: 'release',
  'from-release': 'fromRelease',
  reason: 'reason',
  who: 'who',
  'duration-ms': 'durationMs',
} as const satisfies Record<string, keyof HistoryEntry>;
type RecordOption = keyof typeof FIELDS;
const OPTION_NAMES = Object.keys(FIELDS) as RecordOption[];
const RECORD_OPTIONS = Object.fromEntries(OPTION_NAMES.map((name) => [name, { type: 'string' as const }]));

const DEFAULT_WHO = 'unknown';
// A value quoted in an error is cut: the message stays one readable line.
const QUOTED_MAX = 80;
const COLUMNS = ['TIME', 'ACTION', 'OUTCOME', 'POOL', 'RELEASE', 'WHO', 'REASON'];

/**
 * An entry timed now from option values and `fixed` fields, checked by the
 * entry schema itself, so ctl writes only what readers accept. A bad value is
 * one line naming its option.
 */
export function auditEntry(values: Partial<Record<RecordOption, string>>, fixed: Partial<HistoryEntry> = {}): HistoryEntry {
  const candidate: Record<string, unknown> = { time: new Date().toISOString(), who: DEFAULT_WHO, ...fixed };
  for (const option of OPTION_NAMES) {
    const raw = values[option];
    if (raw !== undefined) candidate[FIELDS[option]] = option === 'duration-ms' && /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  const result = historyEntrySchema.safeParse(candidate);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const option = OPTION_NAMES.find((name) => FIELDS[name] === issue?.path[0]);
  const raw = option === undefined ? undefined : values[option];
  const got = raw === undefined ? 'missing' : `got ${JSON.stringify(raw.length > QUOTED_MAX ? `${raw.slice(0, QUOTED_MAX)}…` : raw)}`;
  throw new BadValueError(`${option === undefined ? '' : `--${option}: `}${issue?.message ?? 'invalid'} (${got})`);
}

export function record(args: string[], dir: string): void {
  const { values } = parseArgs({ args, strict: true, options: RECORD_OPTIONS });
  const entry = appendHistory(dir, auditEntry(values));
  if (isReleaseNotice(entry)) postReleaseNotice(dir, entry);
  const where = [fromTo(entry.fromPool, entry.pool), fromTo(entry.fromRelease, entry.release)].filter((part) => part !== undefined);
  process.stdout.write(`recorded: ${entry.action} ${entry.outcome}${where.length === 0 ? '' : ` (${where.join(', ')})`}\n`);
}

/** Oldest first, so the latest is where the eye lands, above the prompt. */
export function history(args: string[], dir: string): void {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean' } } });
  const { entries, skipped, cut } = readHistory(dir);
  for (const { line, reason } of skipped) process.stderr.write(`ctl: history: skipped line ${line}: ${reason}\n`);
  if (cut) {
    process.stderr.write(`ctl: history: older entries left out: only the last ${HISTORY_READ_MAX_BYTES / 1024 / 1024} MiB are read\n`);
  }
  if (values.json === true) {
    process.stdout.write(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    return;
  }
  process.stdout.write(entries.length === 0 ? 'no history yet\n' : table([COLUMNS, ...entries.map(row)]));
}

function row(e: HistoryEntry): string[] {
  const took = e.durationMs === undefined ? undefined : `(took ${duration(e.durationMs)})`;
  return [
    e.time,
    e.action,
    e.outcome,
    fromTo(e.fromPool, e.pool) ?? '-',
    fromTo(e.fromRelease, e.release) ?? '-',
    e.who,
    [e.reason, took].filter((part) => part !== undefined && part !== '').join(' '),
  ];
}

function table(rows: string[][]): string {
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((cells) => cells[i]?.length ?? 0)));
  return rows.map((cells) => `${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`).join('');
}
