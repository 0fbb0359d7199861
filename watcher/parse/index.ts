// The parse stage: one Nginx access-log line (key=value pairs, `escape=default`)
// → AccessRecord. A line exactly as Nginx writes it takes the fast reader
// (parse/layout.ts); anything else the general scanner (parse/scan.ts). Only
// the status is checked here, since a line without a valid one is the only
// kind rejected; the record decodes other fields when they are read
// (parse/record.ts).
import { parseNginxLine } from './layout.js';
import { LineRecord, rawValue } from './record.js';
import { scanSpans } from './scan.js';
import { POOL, RELEASE, REQUEST_TIME, STATUS, UPSTREAM_RESPONSE_TIME, UPSTREAM_STATUS } from './spans.js';
import { echo, finalStatus, lastMillis, millis, optional, statusList } from './values.js';
import type { AccessRecord, ParseResult } from '../types.js';

export function parseLine(line: string): ParseResult {
  return parseNginxLine(line) ?? parseAnyLine(line);
}

/** The general rules alone; parseLine gives the same result for every line. */
export function parseAnyLine(line: string): ParseResult {
  const { spans, pairs, unterminatedKey } = scanSpans(line);
  if (unterminatedKey !== undefined) return fail(`unterminated quote in ${echo(unterminatedKey)}`);
  if (pairs === 0) return fail(line.trim() === '' ? 'empty line' : 'no key=value pairs');
  const status = finalStatus(rawValue(line, spans, STATUS));
  if (typeof status === 'string') return fail(status);
  const raw = (field: number) => rawValue(line, spans, field);
  const record = new LineRecord(
    line,
    status,
    optional(raw(POOL)),
    optional(raw(RELEASE)),
    statusList(raw(UPSTREAM_STATUS)),
    millis(raw(REQUEST_TIME)),
    lastMillis(raw(UPSTREAM_RESPONSE_TIME)),
    spans,
  );
  return { ok: true, record };
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

/** The line's `time=` as epoch ms, or undefined when it has none that parses. */
export function logTimeMs(record: AccessRecord): number | undefined {
  const time = record.time;
  if (time === undefined) return undefined;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms : undefined;
}
