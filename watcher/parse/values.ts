// Raw value text → the typed value a record field holds.

// Non-fatal so one bad byte in a path cannot cost us the whole line; keep a
// leading BOM because it is part of the value, not a stream marker.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const BACKSLASH = 0x5c;
const LOWER_X = 0x78;
const ZERO = 0x30;
const DOT = 0x2e;
const ECHO_MAX = 40;
const DIGITS = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

/**
 * Nginx writes `-` for a variable with no value, and escapes every variable,
 * quoted in the format or not, so both get decoded.
 */
export function optional(raw: string | undefined): string | undefined {
  const value = present(raw);
  return value === undefined ? undefined : decodeEscapes(value);
}

/** `optional` for a value known to hold no escape. */
export function present(raw: string | undefined): string | undefined {
  return raw === '-' || raw === '' ? undefined : raw;
}

/** Seconds as Nginx writes them (`request_time`), in whole milliseconds, its precision. */
export function millis(raw: string | undefined): number | undefined {
  const plain = raw === undefined ? -1 : nginxMs(raw);
  if (plain >= 0) return plain;
  const v = optional(raw);
  return v !== undefined && DECIMAL.test(v) ? toMs(v) : undefined;
}

const toMs = (seconds: string) => Math.round(Number(seconds) * 1000);

const MS_DIGITS = 3;
// A whole number of ms that is still a small integer (no heap number).
const MAX_MS_CHARS = 10;

/**
 * A time as Nginx writes it, whole seconds and exactly three decimals
 * (`0.003`), in whole milliseconds; -1 to let the general rules decide.
 * Every line carries two: no regex, no allocation, and an integer result,
 * where a fractional number of seconds would be a heap allocation each.
 */
function nginxMs(text: string): number {
  return nginxMsIn(text, 0, text.length);
}

/** nginxMs of text.slice(from, to), read in place: the fast reader's times cost no string. */
export function nginxMsIn(text: string, from: number, to: number): number {
  const n = to - from;
  const dot = to - MS_DIGITS - 1;
  if (n < MS_DIGITS + 2 || n > MAX_MS_CHARS || text.charCodeAt(dot) !== DOT) return -1;
  let ms = 0;
  for (let i = from; i < to; i++) {
    if (i === dot) continue;
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    ms = ms * 10 + d;
  }
  return ms;
}

/** A status as Nginx writes it (`200`, not `0200` or `\x32..`), or -1 to let the general rules decide. */
function plainStatus(text: string): number {
  if (text.length !== 3) return -1;
  const a = text.charCodeAt(0) - ZERO;
  const b = text.charCodeAt(1) - ZERO;
  const c = text.charCodeAt(2) - ZERO;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  return a * 100 + b * 10 + c;
}

/** The status of a line: a number, or why the line has none. */
export function finalStatus(raw: string | undefined): number | string {
  const plain = raw === undefined ? -1 : plainStatus(raw);
  if (plain >= 0) return plain;
  const status = optional(raw);
  if (status === undefined) return 'missing status';
  if (!DIGITS.test(status)) return `non-numeric status "${echo(status)}"`;
  const code = Number(status);
  if (code < 100 || code > 599) return `status ${echo(status)} out of range 100..599`;
  return code;
}

/** Reasons echo the offending text; a 1 MB value must not become a 1 MB log line. */
export function echo(text: string): string {
  return text.length <= ECHO_MAX ? text : `${text.slice(0, ECHO_MAX)}…`;
}

// One shared list per status: most lines make a single attempt, and a list
// each would be most of what parsing a line allocates. Built up front as a
// dense array (one filled in as statuses appear would be a slow sparse one),
// and not frozen, which would slow every read of it; the readonly type is the
// guard against writes.
const SINGLE_ATTEMPTS: readonly (readonly number[])[] = Array.from({ length: 600 }, (_, s) => [s]);

/** [status]; shared for the statuses a line can carry (up to 599). */
export function singleAttempt(status: number): readonly number[] {
  return SINGLE_ATTEMPTS[status] ?? [status];
}

export function statusList(raw: string | undefined): readonly number[] {
  const single = raw === undefined ? -1 : plainStatus(raw);
  return single >= 0 ? singleAttempt(single) : numberList(raw, DIGITS, Number);
}

/** The last attempt's time, in ms: one attempt's without building a list. */
export function lastMillis(raw: string | undefined): number | undefined {
  const single = millis(raw);
  if (single !== undefined) return single;
  const times = millisList(raw);
  return times[times.length - 1];
}

/** `upstream_response_time`: each attempt's seconds, in whole milliseconds. */
export function millisList(raw: string | undefined): number[] {
  return numberList(raw, DECIMAL, toMs);
}

/**
 * Upstream lists: `, ` between attempts and ` : ` between upstream groups
 * (internal redirects); both separate attempts here. Entries that are not
 * numbers (`-` for an attempt the client abandoned) are skipped.
 */
function numberList(raw: string | undefined, shape: RegExp, toNumber: (entry: string) => number): number[] {
  const out: number[] = [];
  const list = optional(raw);
  if (list === undefined) return out;
  // Most requests make one attempt: skip the split for them.
  const parts = list.indexOf(',') < 0 && list.indexOf(':') < 0 ? [list] : list.split(/[,:]/);
  for (const part of parts) {
    const entry = part.trim();
    if (shape.test(entry)) out.push(toNumber(entry));
  }
  return out;
}

/** Like numberList, but a bare `:` is part of `host:port`; only ` : ` separates groups. */
export function addrList(raw: string | undefined): string[] {
  const out: string[] = [];
  const list = optional(raw);
  if (list === undefined) return out;
  for (const group of splitOn(list, ' : ')) {
    for (const part of splitOn(group, ',')) {
      const entry = part.trim();
      if (entry !== '') out.push(entry);
    }
  }
  return out;
}

function splitOn(text: string, separator: string): string[] {
  return text.indexOf(separator) < 0 ? [text] : text.split(separator);
}

/**
 * `\xHH` → the byte 0xHH. Runs of escaped bytes are UTF-8 decoded together,
 * since Nginx escapes each byte of a multi-byte character (é → \xC3\xA9).
 * A backslash not starting a valid escape is kept as written.
 */
function decodeEscapes(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  let bytes: number[] = [];
  let literalStart = 0;
  let i = 0;
  while (i < raw.length) {
    const byte =
      raw.charCodeAt(i) === BACKSLASH && raw.charCodeAt(i + 1) === LOWER_X ? hexByte(raw, i + 2) : -1;
    if (byte < 0) {
      i++;
      continue;
    }
    if (literalStart < i) {
      out += decodeBytes(bytes) + raw.slice(literalStart, i);
      bytes = [];
    }
    bytes.push(byte);
    i += 4;
    literalStart = i;
  }
  return out + decodeBytes(bytes) + raw.slice(literalStart);
}

function decodeBytes(bytes: number[]): string {
  return bytes.length === 0 ? '' : utf8.decode(Uint8Array.from(bytes));
}

function hexByte(s: string, at: number): number {
  const hi = hexDigit(s.charCodeAt(at));
  const lo = hexDigit(s.charCodeAt(at + 1));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

