// Three copies of the access-log format must agree: what Nginx writes (the
// template's `log_format bluegreen`), what the parser's fast reader expects
// (parse/layout.ts) and what the benchmarks feed it (bench/lib/accessLog.ts).
// A drift would not break parsing (the general scanner takes over) but would
// silently measure, or run, the slow path.
import { describe, expect, it } from 'vitest';
import { forEachLine, generateAccessLog, servedLine } from '../../../bench/lib/accessLog.js';
import { parseAnyLine } from '../../../watcher/parse/index.js';
import { LAYOUT_KEYS, parseNginxLine } from '../../../watcher/parse/layout.js';
import type { AccessRecord, ParseResult } from '../../../watcher/types.js';
import { formatKeys, logFormat, readTemplate, renderLine } from './nginxTemplate.js';

const format = logFormat(readTemplate());
const templateKeys = formatKeys(format);

// A failover retry as Nginx logs it: blue failed, green answered.
const PLAUSIBLE: Record<string, string> = {
  bg_time_s: '2026-11-22T00:07:00',
  bg_time_ms: '123',
  bg_time_tz: '+00:00',
  request_id: '5b1c0e4f9a2d4c7e8f00112233445566',
  request_method: 'GET',
  request_uri: '/search?q=caf\\xC3\\xA9',
  status: '200',
  upstream_http_x_app_pool: 'green',
  upstream_http_x_release_id: 'green-v1.0.0',
  upstream_status: '500, 200',
  upstream_addr: '172.18.0.3:3000, 172.18.0.4:3000',
  request_time: '0.006',
  upstream_response_time: '0.002, 0.003',
  body_bytes_sent: '98',
};

/** Every field as a plain object: records compute fields when read, so toEqual on one sees none. */
function fields(r: ParseResult | undefined): object | undefined {
  if (r === undefined || !r.ok) return r;
  const record: AccessRecord = r.record;
  return {
    time: record.time,
    requestId: record.requestId,
    method: record.method,
    path: record.path,
    status: record.status,
    pool: record.pool,
    release: record.release,
    upstreamStatuses: [...record.upstreamStatuses],
    upstreamAddrs: [...record.upstreamAddrs],
    requestMs: record.requestMs,
    upstreamResponseMs: [...record.upstreamResponseMs],
  };
}

describe('access-log format', () => {
  it('the template has the keys the watcher reads', () => {
    expect(templateKeys).toEqual(expect.arrayContaining(['time', 'status', 'pool', 'release', 'upstream_status']));
    expect(new Set(templateKeys).size).toBe(templateKeys.length);
  });

  it("a line rendered from the template takes the parser's fast path, with the general scanner's record", () => {
    const line = renderLine(format, PLAUSIBLE);
    const fast = parseNginxLine(line);
    expect(fast).toBeDefined();
    expect(fast?.ok).toBe(true);
    expect(fields(fast)).toEqual(fields(parseAnyLine(line)));
    expect(fields(fast)).toMatchObject({
      time: '2026-11-22T00:07:00.123+00:00',
      path: '/search?q=café',
      pool: 'green',
      upstreamStatuses: [500, 200],
    });
  });

  it('the fast reader expects the keys of the template, in its order', () => {
    expect(LAYOUT_KEYS).toEqual(templateKeys);
  });

  it('the benchmark generator writes the keys of the template, in its order', () => {
    const keyOrders = new Map<string, number>();
    let lines = 0;
    forEachLine(generateAccessLog(50_000, 7), (line) => {
      lines++;
      // Whole lines only: the generator also writes junk and lines cut short on purpose.
      if (!/^time=.* bytes=\d+$/.test(line)) return;
      const keys = formatKeys(line).join(' ');
      keyOrders.set(keys, (keyOrders.get(keys) ?? 0) + 1);
    });
    expect([...keyOrders.keys()]).toEqual([templateKeys.join(' ')]);
    expect(keyOrders.get(templateKeys.join(' '))).toBeGreaterThan(lines * 0.98);
    expect(formatKeys(servedLine(Date.UTC(2026, 10, 22), 'a'.repeat(32), '/version', 'green'))).toEqual(templateKeys);
  });
});
