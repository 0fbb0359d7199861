// One Nginx access-log line (key=value pairs, `escape=default`) → AccessRecord.
// A single forward scan, and the few regexes are anchored with nothing to
// backtrack into, so a runaway line costs time proportional to its length.
import type { AccessRecord, ParseResult } from './types.js';

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const LOWER_X = 0x78;

// Reasons echo the offending text; a 1 MB key must not become a 1 MB log line.
const ECHO_MAX = 40;

// Non-fatal so one bad byte in a path cannot cost us the whole line; keep a
// leading BOM because it is part of the value, not a stream marker.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const DIGITS = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

export function parseLine(line: string): ParseResult {
  let time: string | undefined;
  let rid: string | undefined;
  let method: string | undefined;
  let path: string | undefined;
  let status: string | undefined;
  let pool: string | undefined;
  let release: string | undefined;
  let upstreamStatus: string | undefined;
  let upstreamAddr: string | undefined;
  let requestTime: string | undefined;
  let upstreamResponseTime: string | undefined;

  const n = line.length;
  let pairs = 0;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    const keyStart = i;
    while (i < n && line.charCodeAt(i) !== EQUALS && !isSpace(line.charCodeAt(i))) i++;
    // A bare word carries no value: skip it rather than reject the line.
    if (i >= n || line.charCodeAt(i) !== EQUALS) continue;
    const key = line.slice(keyStart, i);
    i++;

    let raw: string;
    if (i < n && line.charCodeAt(i) === QUOTE) {
      // Nginx writes `"` inside a value as \x22, so the next quote closes it.
      const close = line.indexOf('"', i + 1);
      if (close < 0) return fail(`unterminated quote in ${echo(key)}`);
      raw = line.slice(i + 1, close);
      i = close + 1;
    } else {
      const start = i;
      while (i < n && !isSpace(line.charCodeAt(i))) i++;
      raw = line.slice(start, i);
    }
    if (key === '') continue;
    pairs++;
    switch (key) {
      case 'time': time = raw; break;
      case 'rid': rid = raw; break;
      case 'method': method = raw; break;
      case 'path': path = raw; break;
      case 'status': status = raw; break;
      case 'pool': pool = raw; break;
      case 'release': release = raw; break;
      case 'upstream_status': upstreamStatus = raw; break;
      case 'upstream_addr': upstreamAddr = raw; break;
      case 'request_time': requestTime = raw; break;
      case 'upstream_response_time': upstreamResponseTime = raw; break;
    }
  }

  if (pairs === 0) return fail(line.trim() === '' ? 'empty line' : 'no key=value pairs');
  const finalStatus = optional(status);
  if (finalStatus === undefined) return fail('missing status');
  if (!DIGITS.test(finalStatus)) return fail(`non-numeric status "${echo(finalStatus)}"`);
  const code = Number(finalStatus);
  if (code < 100 || code > 599) return fail(`status ${echo(finalStatus)} out of range 100..599`);

  const record: AccessRecord = {
    time: optional(time),
    requestId: optional(rid),
    method: optional(method),
    path: optional(path),
    status: code,
    pool: optional(pool),
    release: optional(release),
    upstreamStatuses: numberList(upstreamStatus, DIGITS),
    upstreamAddrs: addrList(upstreamAddr),
    requestTime: decimal(requestTime),
    upstreamResponseTimes: numberList(upstreamResponseTime, DECIMAL),
  };
  return { ok: true, record };
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF;
}

function echo(text: string): string {
  return text.length <= ECHO_MAX ? text : `${text.slice(0, ECHO_MAX)}…`;
}

/**
 * Nginx writes `-` for a variable with no value, and escapes every variable,
 * quoted in the format or not, so both get decoded.
 */
function optional(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '-' || raw === '' ? undefined : decodeEscapes(raw);
}

function decimal(raw: string | undefined): number | undefined {
  const v = optional(raw);
  return v !== undefined && DECIMAL.test(v) ? Number(v) : undefined;
}

/**
 * Upstream lists: `, ` between attempts and ` : ` between upstream groups
 * (internal redirects); both separate attempts here. Entries that are not
 * numbers (`-` for an attempt the client abandoned) are skipped.
 */
function numberList(raw: string | undefined, shape: RegExp): number[] {
  const out: number[] = [];
  const list = optional(raw);
  if (list === undefined) return out;
  // Most requests make one attempt: skip the split for them.
  const parts = list.indexOf(',') < 0 && list.indexOf(':') < 0 ? [list] : list.split(/[,:]/);
  for (const part of parts) {
    const entry = part.trim();
    if (shape.test(entry)) out.push(Number(entry));
  }
  return out;
}

/** Like numberList, but a bare `:` is part of `host:port`; only ` : ` separates groups. */
function addrList(raw: string | undefined): string[] {
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
