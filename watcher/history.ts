// The audit trail's entry: its schema and parsing, shared by the stages
// that write entries (state/history.ts, the outbox), the policy that carries
// them and the surfaces that show them. No I/O here.
import { z } from 'zod';
import { poolName } from '../common/config.js';
import { auditAction, auditOutcome } from './vocabulary.js';

export const REASON_MAX = 300;
const ISSUE_MAX = 200;

const RELEASE_ID_RULE = 'expected 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** A release as the release CLI names it: safe in a Slack headline, a file name and a terminal. */
export const releaseId = z
  .string({ message: RELEASE_ID_RULE })
  .max(64, { message: RELEASE_ID_RULE })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: RELEASE_ID_RULE });

// No control or format characters: an escape sequence would repaint the
// terminal of whoever runs `ctl history`, a bidi override would reorder it.
const printable = /^[^\p{Cc}\p{Cf}]*$/u;

export const historyEntrySchema = z.object({
  time: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time' }),
  action: auditAction,
  outcome: auditOutcome,
  pool: poolName.optional(),
  fromPool: poolName.optional(),
  release: releaseId.optional(),
  fromRelease: releaseId.optional(),
  reason: z
    .string({ message: 'expected text' })
    .max(REASON_MAX, { message: `expected at most ${REASON_MAX} characters` })
    .regex(printable, { message: 'expected printable text, without control characters' })
    .optional(),
  who: z.string({ message: 'expected a name' }).regex(/^[\x20-\x7e]{1,100}$/, {
    message: 'expected 1 to 100 printable ASCII characters, e.g. alice@host1',
  }),
  durationMs: z.number({ message: 'expected a whole number of milliseconds, 0 or more' }).int().nonnegative().optional(),
});
export type HistoryEntry = z.output<typeof historyEntrySchema>;

export type ParsedEntry = { ok: true; entry: HistoryEntry } | { ok: false; reason: string };

/** One entry from its JSON text: a line of the history or an outbox file. */
export function parseHistoryEntry(json: string): ParsedEntry {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const result = historyEntrySchema.safeParse(value);
  return result.success ? { ok: true, entry: result.data } : { ok: false, reason: issueOf(result.error) };
}

/** "field: problem", for one line of output. */
export function issueOf(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.map(String).join('.') ?? '';
  return `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`.slice(0, ISSUE_MAX);
}
