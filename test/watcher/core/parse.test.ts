import { describe, expect, it } from 'vitest';
import { parseAnyLine, parseLine } from '../../../watcher/parse/index.js';
import { parseNginxLine } from '../../../watcher/parse/layout.js';
import type { AccessRecord, ParseResult } from '../../../watcher/types.js';
import { record, rng } from './records.js';

const NORMAL =
  'time=2026-11-22T00:06:32.123+00:00 rid=5b1c0e4f9a2d4c7e8f00112233445566 method=GET path="/version" ' +
  'status=200 pool="blue" release="blue-v1" upstream_status="200" upstream_addr="172.18.0.3:3000" ' +
  'request_time=0.004 upstream_response_time="0.004" bytes=98';

function parsed(line: string): AccessRecord {
  const r = parseLine(line);
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.record;
}

/** Every field as a plain object: records compute fields when read, so toEqual on one sees none. */
function fields(r: AccessRecord): Record<keyof AccessRecord, unknown> {
  return {
    time: r.time,
    requestId: r.requestId,
    method: r.method,
    path: r.path,
    status: r.status,
    pool: r.pool,
    release: r.release,
    upstreamStatuses: [...r.upstreamStatuses],
    upstreamAddrs: [...r.upstreamAddrs],
    requestMs: r.requestMs,
    upstreamResponseMs: [...r.upstreamResponseMs],
    upstreamMs: r.upstreamMs,
  };
}

function outcome(r: ParseResult): object {
  return r.ok ? fields(r.record) : { reason: r.reason };
}

describe('parseLine on real lines', () => {
  it('parses a normal line into every field', () => {
    // The core tests' record() is this line: their records stand for what Nginx writes.
    expect(fields(parsed(NORMAL))).toEqual(fields(record({ requestId: '5b1c0e4f9a2d4c7e8f00112233445566' })));
    expect(fields(parsed(NORMAL))).toMatchObject({ status: 200, pool: 'blue', upstreamStatuses: [200], upstreamMs: 4 });
  });

  it('parses a failover retry into one entry per attempt', () => {
    const r = parsed(
      'time=2026-11-22T00:07:00.000+00:00 rid=a method=GET path="/version" status=200 pool="green" ' +
        'release="green-v1" upstream_status="500, 200" upstream_addr="172.18.0.3:3000, 172.18.0.4:3000" ' +
        'request_time=0.006 upstream_response_time="0.002, 0.003" bytes=98',
    );
    expect(r).toMatchObject({
      status: 200,
      pool: 'green',
      release: 'green-v1',
      upstreamStatuses: [500, 200],
      upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'],
      upstreamResponseMs: [2, 3],
      upstreamMs: 3,
    });
  });

  it('parses a timeout retry', () => {
    expect(parsed('status=200 upstream_status="504, 200"').upstreamStatuses).toEqual([504, 200]);
  });

  it("parses Nginx's own 502 with the upstream group as the address", () => {
    const r = parsed('status=502 pool="-" release="-" upstream_status="502" upstream_addr="app_pools"');
    expect(r).toMatchObject({ status: 502, pool: undefined, release: undefined, upstreamStatuses: [502], upstreamAddrs: ['app_pools'] });
  });

  it("parses Nginx's own 502 with no upstream at all", () => {
    const r = parsed('status=502 pool="-" release="-" upstream_status="-" upstream_addr="-" upstream_response_time="-"');
    expect(r).toMatchObject({ status: 502, pool: undefined, upstreamStatuses: [], upstreamAddrs: [], upstreamResponseMs: [] });
  });

  it('splits attempts on ", " and upstream groups on " : ", keeping host:port whole', () => {
    const r = parsed(
      'status=200 upstream_status="502, 502 : 200" upstream_addr="10.0.0.1:3000, 10.0.0.2:3000 : unix:/run/app.sock" ' +
        'upstream_response_time="0.001, 0.002 : 0.003"',
    );
    expect(r.upstreamStatuses).toEqual([502, 502, 200]);
    expect(r.upstreamAddrs).toEqual(['10.0.0.1:3000', '10.0.0.2:3000', 'unix:/run/app.sock']);
    expect(r.upstreamResponseMs).toEqual([1, 2, 3]);
  });

  it('skips non-numeric entries inside upstream lists', () => {
    const r = parsed('status=499 upstream_status="502, -, x2, 200" upstream_response_time="0.1, -"');
    expect(r.upstreamStatuses).toEqual([502, 200]);
    expect(r.upstreamResponseMs).toEqual([100]);
  });
});

describe('parseLine values', () => {
  it('reads quoted and unquoted values alike', () => {
    const quoted = parsed('status="200" pool="blue" release="blue-v1" method="GET"');
    const bare = parsed('status=200 pool=blue release=blue-v1 method=GET');
    expect(fields(bare)).toEqual(fields(quoted));
    expect(bare).toMatchObject({ status: 200, pool: 'blue', release: 'blue-v1', method: 'GET' });
  });

  it('keeps spaces inside quoted values', () => {
    expect(parsed('status=200 path="/a b  c"').path).toBe('/a b  c');
  });

  it.each([
    ['quoted', 'status=200 pool="-" release="-" path="-" request_time="-" upstream_status="-" upstream_addr="-"'],
    ['unquoted', 'status=200 pool=- release=- path=- request_time=- upstream_status=- upstream_addr=-'],
    ['empty', 'status=200 pool="" release= path="" request_time= upstream_status="" upstream_addr=""'],
  ])('maps %s missing values to undefined and empty lists', (_, line) => {
    expect(parsed(line)).toMatchObject({
      pool: undefined,
      release: undefined,
      path: undefined,
      requestMs: undefined,
      upstreamStatuses: [],
      upstreamAddrs: [],
    });
  });

  it('decodes \\x22 and \\x5C escapes', () => {
    expect(parsed('status=200 path="/say\\x22hi\\x22\\x5Cx"').path).toBe('/say"hi"\\x');
  });

  it('decodes escaped UTF-8 byte runs as one character each', () => {
    expect(parsed('status=200 path="/caf\\xC3\\xA9/\\xE2\\x86\\x92"').path).toBe('/café/→');
  });

  it('decodes control bytes and escapes in unquoted values', () => {
    expect(parsed('status=200 path=/a\\x0Ab\\x09c').path).toBe('/a\nb\tc');
  });

  it('replaces invalid UTF-8 instead of failing the line', () => {
    expect(parsed('status=200 path="/\\xFFx"').path).toBe('/\uFFFDx');
  });

  it('keeps a backslash that does not start a valid escape', () => {
    expect(parsed('status=200 path="/a\\xZZ\\q\\x4"').path).toBe('/a\\xZZ\\q\\x4');
  });

  it('accepts keys in any order and ignores unknown keys and bare words', () => {
    const reversed = NORMAL.split(' ').reverse().join(' ');
    expect(fields(parsed(reversed))).toEqual(fields(parsed(NORMAL)));
    expect(fields(parsed(`junk ${NORMAL} extra="x y" =orphan`))).toEqual(fields(parsed(NORMAL)));
  });

  it('uses the last value of a repeated key', () => {
    expect(parsed('status=500 status=200').status).toBe(200);
  });

  it('tolerates tabs, CRLF and surrounding whitespace', () => {
    expect(parsed('  status=200\tpool=blue\r\n')).toMatchObject({ status: 200, pool: 'blue' });
  });

  it('parses a 1 MB line in linear time', () => {
    const big = 'x'.repeat(1 << 20);
    const started = performance.now();
    expect(parsed(`status=200 path="${big}" upstream_addr="${' '.repeat(1 << 20)}"`).path).toHaveLength(1 << 20);
    expect(parsed(`status=200 path="${'\\x41'.repeat(1 << 18)}"`).path).toBe('A'.repeat(1 << 18));
    expect(parseLine(`${'a'.repeat(1 << 20)}`)).toEqual({ ok: false, reason: 'no key=value pairs' });
    expect(parseLine(`status=200 path="${big}`).ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('parseLine rejects malformed lines', () => {
  it.each([
    ['', 'empty line'],
    ['   \t ', 'empty line'],
    ['hello world', 'no key=value pairs'],
    ['=200 =blue', 'no key=value pairs'],
    ['status=200 path="/unterminated', 'unterminated quote in path'],
    ['status="200', 'unterminated quote in status'],
    ['pool=blue release=blue-v1', 'missing status'],
    ['status=- pool=blue', 'missing status'],
    ['status="" pool=blue', 'missing status'],
    ['status=', 'missing status'],
    ['status=abc', 'non-numeric status "abc"'],
    ['status=20O', 'non-numeric status "20O"'],
    ['status=-200', 'non-numeric status "-200"'],
    ['status=200.0', 'non-numeric status "200.0"'],
    ['status=" 200"', 'non-numeric status " 200"'],
    ['status=0x1F4', 'non-numeric status "0x1F4"'],
    ['status=99', 'status 99 out of range 100..599'],
    ['status=600', 'status 600 out of range 100..599'],
    ['status=0', 'status 0 out of range 100..599'],
    ['status=99999999999999999999', 'status 99999999999999999999 out of range 100..599'],
  ])('%j → %s', (line, reason) => {
    expect(parseLine(line)).toEqual({ ok: false, reason });
  });

  it('accepts the edges of the status range', () => {
    expect(parsed('status=100').status).toBe(100);
    expect(parsed('status=599').status).toBe(599);
  });

  it('keeps reasons short for huge values', () => {
    const r = parseLine(`status=${'9'.repeat(100_000)}`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason.length).toBeLessThan(100);
    expect(r.reason).toMatch(/^status 9+… out of range 100\.\.599$/);
  });
});

// Lines exactly as Nginx writes them take a fast reader (parse/layout.ts);
// everything else the general scanner. The choice must never show in a record.
describe('parseLine fast path', () => {
  const RETRY =
    'time=2026-11-22T00:07:00.000+00:00 rid=a method=GET path="/caf\\xC3\\xA9?q=a b" status=200 pool="green" ' +
    'release="green-v1" upstream_status="500, 200" upstream_addr="172.18.0.3:3000, 172.18.0.4:3000" ' +
    'request_time=0.006 upstream_response_time="0.002, 0.003" bytes=98';
  const NO_UPSTREAM =
    'time=2026-11-22T00:07:00.000+00:00 rid=b method=GET path="/" status=502 pool="-" release="-" ' +
    'upstream_status="-" upstream_addr="-" request_time=0.000 upstream_response_time="-" bytes=157';
  const withField = (line: string, key: string, value: string) => line.replace(new RegExp(`(^| )${key}=("[^"]*"|\\S*)`), `$1${key}=${value}`);

  it.each([
    ['a normal line', NORMAL],
    ['a retry with escapes and a space in the path', RETRY],
    ["Nginx's own 502", NO_UPSTREAM],
    ['a single attempt that differs from the final status', withField(NORMAL, 'upstream_status', '"504"')],
    ['an empty upstream status', withField(NORMAL, 'upstream_status', '""')],
    ['pairs appended after bytes', `${NORMAL} region="eu west" zone=b cache=HIT`],
  ])('reads %s as the general scanner does', (_, line) => {
    expect(parseNginxLine(line)).toBeDefined();
    expect(outcome(parseLine(line))).toEqual(outcome(parseAnyLine(line)));
  });

  it('reads upstream attempts on the fast path', () => {
    expect(parsed(RETRY).upstreamStatuses).toEqual([500, 200]);
    expect(parsed(withField(NORMAL, 'upstream_status', '"504"')).upstreamStatuses).toEqual([504]);
    expect(parsed(NO_UPSTREAM)).toMatchObject({ status: 502, pool: undefined, release: undefined, upstreamStatuses: [] });
  });

  it.each([
    ['a status out of range', withField(NORMAL, 'status', '600'), { reason: 'status 600 out of range 100..599' }],
    ['a status with a leading zero', withField(NORMAL, 'status', '0200'), { status: 200 }],
    ['an escape in the pool', withField(NORMAL, 'pool', '"bl\\x75e"'), { pool: 'blue' }],
    ['an unquoted pool', withField(NORMAL, 'pool', 'blue'), { pool: 'blue' }],
    ['a quote inside a bare value', withField(NORMAL, 'method', 'GE"T'), { method: 'GE"T' }],
    ['a tab hiding a later status', `${NORMAL}\tstatus=503`, { status: 503 }],
    ['a known key appended after bytes', `${NORMAL} region=eu status=504`, { status: 504 }],
    ['an open quote appended after bytes', `${NORMAL} region="eu`, { reason: 'unterminated quote in region' }],
    ['a trailing CR', `${NORMAL}\r`, { status: 200, path: '/version' }],
    ['two spaces between pairs', NORMAL.replace(' status=', '  status='), { status: 200, pool: 'blue' }],
  ])('leaves %s to the general scanner', (_, line, expected) => {
    expect(parseNginxLine(line)).toBeUndefined();
    const r = parseLine(line);
    expect(r.ok ? r.record : r).toMatchObject(expected);
  });

  it('gives up on megabyte near-misses in linear time', () => {
    const big = 'x'.repeat(1 << 20);
    const started = performance.now();
    expect(parseLine(`time=a rid=b method=GET path="${big}`)).toEqual({ ok: false, reason: 'unterminated quote in path' });
    expect(parsed(`${NORMAL}\t${big}`).status).toBe(200);
    expect(parsed(NORMAL.replace('blue-v1', `blue-${big}\\`)).release).toBe(`blue-${big}\\`);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('agrees with the general scanner on thousands of mutated lines', () => {
    const random = rng(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const INSERTS = [' ', '\t', '\r', '\n', '"', '\\', '=', '-', ',', ':', 'x', '\0', 'é', '\\x41'];
    // Keys hidden behind whitespace override the ones the fast reader captures.
    const HIDDEN = [' status=503', '\tstatus=503', '\rpool="green"', ' release=r2', '\tupstream_status="502"', ' zone=b', ' region="eu'];
    const mutate = (line: string): string => {
      const at = Math.floor(random() * (line.length + 1));
      switch (Math.floor(random() * 4)) {
        case 0:
          return line.slice(0, at) + pick(random() < 0.8 ? INSERTS : HIDDEN) + line.slice(at);
        case 1:
          return line.slice(0, at) + line.slice(at + 1);
        case 2:
          return line + pick(HIDDEN);
        default:
          return line.slice(0, at);
      }
    };
    let fast = 0;
    for (let i = 0; i < 5_000; i++) {
      let line = pick([NORMAL, RETRY, NO_UPSTREAM]);
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) line = mutate(line);
      if (parseNginxLine(line) !== undefined) fast++;
      expect(outcome(parseLine(line)), line).toEqual(outcome(parseAnyLine(line)));
    }
    // Both readers were exercised: a mutation inside a quoted value keeps the fast path.
    expect(fast).toBeGreaterThan(200);
    expect(fast).toBeLessThan(4_500);
  });
});
