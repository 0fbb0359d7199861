// The fast reader, for lines as Nginx writes them (nginx/templates/
// default.conf.template, `log_format bluegreen`): every key where the format
// puts it, one space between pairs, no whitespace or quote inside an unquoted
// value. One anchored regex checks all of that and captures only the status,
// pool, release, upstream statuses and times, which the detector and the
// metrics read on every line; the record scans for the rest if they are ever
// read. Pairs appended after
// `bytes` (a newer log_format) keep the fast path unless they repeat a known
// key. Anything else is left to the general scanner (undefined). On a line this
// accepts, the scanner would find the same values (parse.test.ts checks it on
// thousands of mutated lines), so it changes the speed, never the record.
// A regex because irregexp walks a line several times faster per character
// than a charCodeAt loop; the walk is most of the cost of a line.
import type { ParseResult } from '../types.js';
import { LineRecord } from './record.js';
import { scanSpans } from './scan.js';
import { lastMillis, millis, nginxMsIn, present, singleAttempt, statusList } from './values.js';

const ZERO = 0x30;
// What the scanner reads as one unquoted value: no whitespace, no leading
// quote (stricter: no quote at all, which Nginx escapes anyway).
const BARE = '[^ \\t\\r\\n"]*';
const QUOTED = '[^"]*';
// The captured values, which skip decoding: no backslash means no escape in them.
const PLAIN = '[^"\\\\]*';
const NGINX_LINE = new RegExp(
  `^time=${BARE} rid=${BARE} method=${BARE} path="${QUOTED}" status=([1-5]\\d\\d) ` +
    `pool="(${PLAIN})" release="(${PLAIN})" upstream_status="(?:\\1|(${PLAIN}))" upstream_addr="${QUOTED}" ` +
    `request_time=(${BARE} upstream_response_time="${QUOTED})" bytes=${BARE}( [^]*)?$`,
);
// In the one capture of both times, where the upstream times begin after the request's.
const UPSTREAM_TIMES_AT = ' upstream_response_time="'.length;

/** The keys the fast reader expects, in order: read off its regex, so they cannot drift from it. */
export const LAYOUT_KEYS: readonly string[] = [...NGINX_LINE.source.matchAll(/(?:\^| )([a-z_]+)=/g)].map(
  (m) => m[1] as string,
);

export function parseNginxLine(line: string): ParseResult | undefined {
  const m = NGINX_LINE.exec(line);
  if (m === null) return undefined;
  const appended = m[6];
  if (appended !== undefined && !unknownKeysOnly(appended)) return undefined;
  const status = m[1] as string;
  const code = (status.charCodeAt(0) - ZERO) * 100 + (status.charCodeAt(1) - ZERO) * 10 + status.charCodeAt(2) - ZERO;
  // Most requests make one attempt, whose status is the final one: the
  // backreference matches it without capturing (allocating) it again.
  const upstreamStatus = m[4];
  const attempts = upstreamStatus === undefined ? singleAttempt(code) : statusList(upstreamStatus);
  // Both times in one capture, read in place: two strings fewer a line. BARE
  // holds no space, so the first one ends request_time.
  const times = m[5] as string;
  const space = times.indexOf(' ');
  const from = space + UPSTREAM_TIMES_AT;
  let requestMs: number | undefined = nginxMsIn(times, 0, space);
  if (requestMs < 0) requestMs = millis(times.slice(0, space));
  let upstreamMs: number | undefined = nginxMsIn(times, from, times.length);
  // A list, or not as Nginx writes one time: the general rules, and the raw
  // list kept for a record whose list is read. A plain single time leaves the
  // rare read of the list to the record's scan, which finds the same value.
  let rawUpstreamTimes: string | undefined;
  if (upstreamMs < 0) {
    rawUpstreamTimes = times.slice(from);
    upstreamMs = lastMillis(rawUpstreamTimes);
  }
  const record = new LineRecord(line, code, present(m[2]), present(m[3]), attempts, requestMs, upstreamMs, undefined, rawUpstreamTimes);
  return { ok: true, record };
}

/** Whether the scanner would find no known key in `text`, nor a quote left open. */
function unknownKeysOnly(text: string): boolean {
  const { spans, unterminatedKey } = scanSpans(text);
  return unterminatedKey === undefined && spans.every((at) => at < 0);
}
