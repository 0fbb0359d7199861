import { describe, expect, it } from 'vitest';
import { ErrorWindow } from '../../../watcher/detect/errorWindow.js';
import { parseLine } from '../../../watcher/parse/index.js';
import type { WindowStats } from '../../../watcher/detect/index.js';
import type { AccessRecord } from '../../../watcher/types.js';
import { noUpstream, ok, record, retried, rng } from './records.js';

function pushAll(window: ErrorWindow, records: AccessRecord[]): void {
  for (const r of records) window.push(r);
}

const is5xx = (s: number | undefined): boolean => s !== undefined && s >= 500 && s <= 599;

/** The window recomputed from scratch, to check the running counts against. */
function recount(records: AccessRecord[], size: number): Omit<WindowStats, 'topFailingUpstream'> & {
  failures: Map<string, number>;
} {
  const last = records.slice(-size);
  const failures = new Map<string, number>();
  let errors = 0;
  let clientErrors = 0;
  let upstreamErrors = 0;
  for (const r of last) {
    const client = is5xx(r.status);
    const upstream = r.upstreamStatuses.some(is5xx);
    if (client || upstream) errors++;
    if (client) clientErrors++;
    if (upstream) upstreamErrors++;
    r.upstreamStatuses.forEach((s, i) => {
      const addr = r.upstreamAddrs[i];
      if (is5xx(s) && addr !== undefined) failures.set(addr, (failures.get(addr) ?? 0) + 1);
    });
  }
  const pct = (n: number) => (last.length === 0 ? 0 : (n / last.length) * 100);
  return {
    size,
    count: last.length,
    errors,
    clientErrors,
    upstreamErrors,
    errorRate: pct(errors),
    clientErrorRate: pct(clientErrors),
    upstreamErrorRate: pct(upstreamErrors),
    failures,
  };
}

describe('ErrorWindow', () => {
  it('starts empty with zero rates', () => {
    expect(new ErrorWindow(5).stats()).toEqual({
      size: 5,
      count: 0,
      errors: 0,
      clientErrors: 0,
      upstreamErrors: 0,
      errorRate: 0,
      clientErrorRate: 0,
      upstreamErrorRate: 0,
      topFailingUpstream: undefined,
    });
  });

  it('fills up to its size and rates over what it holds', () => {
    const w = new ErrorWindow(4);
    pushAll(w, [ok(), noUpstream()]);
    expect(w.stats()).toMatchObject({ count: 2, errors: 1, clientErrors: 1, upstreamErrors: 1, errorRate: 50 });
    pushAll(w, [ok(), ok(), ok()]);
    expect(w.count).toBe(4);
    expect(w.stats()).toMatchObject({ count: 4, errors: 1, errorRate: 25 });
  });

  it('evicts the oldest request once full', () => {
    const w = new ErrorWindow(3);
    pushAll(w, [noUpstream(), retried(), ok()]);
    expect(w.stats()).toMatchObject({ errors: 2, clientErrors: 1, upstreamErrors: 2 });
    w.push(ok());
    expect(w.stats()).toMatchObject({ count: 3, errors: 1, clientErrors: 0, upstreamErrors: 1 });
    w.push(ok());
    expect(w.stats()).toMatchObject({ count: 3, errors: 0, upstreamErrors: 0, topFailingUpstream: undefined });
  });

  it("returns each request's error flags: 0 for no 5xx anywhere, one flag each for client-visible and upstream", () => {
    const w = new ErrorWindow(10);
    expect(w.push(ok())).toBe(0);
    expect(w.push(record({ status: 404, upstreamStatuses: [404] }))).toBe(0);
    expect(w.push(record({ status: 499, upstreamStatuses: [] }))).toBe(0);
    const client = w.push(record({ status: 502, upstreamStatuses: [], upstreamAddrs: [] }));
    const upstream = w.push(retried());
    const both = w.push(noUpstream());
    expect([client, upstream, both].every((f) => f !== 0)).toBe(true);
    expect(client).not.toBe(upstream);
    expect(both).toBe(client | upstream);
    // The flags are what is counted: the window's own stats agree.
    expect(w.stats()).toMatchObject({ errors: 3, clientErrors: 2, upstreamErrors: 2 });
  });

  it('counts a masked retry as an upstream error but not a client error', () => {
    const w = new ErrorWindow(10);
    w.push(retried());
    expect(w.stats()).toMatchObject({ errors: 1, clientErrors: 0, upstreamErrors: 1, clientErrorRate: 0, upstreamErrorRate: 100 });
  });

  it('counts a final 5xx with no upstream attempt as a client error only', () => {
    const w = new ErrorWindow(10);
    w.push(record({ status: 502, upstreamStatuses: [], upstreamAddrs: [] }));
    expect(w.stats()).toMatchObject({ errors: 1, clientErrors: 1, upstreamErrors: 0, topFailingUpstream: undefined });
  });

  it('does not count 4xx or 499 as errors', () => {
    const w = new ErrorWindow(10);
    pushAll(w, [record({ status: 404 }), record({ status: 499, upstreamStatuses: [499] })]);
    expect(w.stats().errors).toBe(0);
  });

  it('blames each 5xx attempt on the address at the same position', () => {
    const w = new ErrorWindow(10);
    w.push(record({ upstreamStatuses: [502, 504, 200], upstreamAddrs: ['a:1', 'b:1', 'c:1'] }));
    w.push(record({ upstreamStatuses: [500, 500], upstreamAddrs: ['b:1', 'b:1'] }));
    expect(w.stats().topFailingUpstream).toEqual({ addr: 'b:1', failures: 3 });
  });

  it('blames the addresses of a parsed line, which the record finds only when asked', () => {
    const w = new ErrorWindow(10);
    const line =
      'time=2026-11-22T00:07:00.000+00:00 rid=a method=GET path="/" status=502 pool="green" release="green-v1" ' +
      'upstream_status="504, 502" upstream_addr="10.0.0.1:3000, 10.0.0.2:3000" request_time=1.6 ' +
      'upstream_response_time="1.5, 0.1" bytes=0';
    const parsed = parseLine(line);
    if (!parsed.ok) throw new Error(parsed.reason);
    w.push(parsed.record);
    w.push(parsed.record);
    expect(w.stats()).toMatchObject({ clientErrors: 2, upstreamErrors: 2, topFailingUpstream: { addr: '10.0.0.1:3000', failures: 2 } });
  });

  it('skips attempts with no address when blaming', () => {
    const w = new ErrorWindow(10);
    w.push(record({ status: 502, upstreamStatuses: [502, 502], upstreamAddrs: ['a:1'] }));
    expect(w.stats()).toMatchObject({ upstreamErrors: 1, topFailingUpstream: { addr: 'a:1', failures: 1 } });
  });

  it('breaks ties in the top failing upstream by address', () => {
    const w = new ErrorWindow(10);
    w.push(record({ upstreamStatuses: [500], upstreamAddrs: ['z:1'] }));
    w.push(record({ upstreamStatuses: [500], upstreamAddrs: ['a:1'] }));
    expect(w.stats().topFailingUpstream).toEqual({ addr: 'a:1', failures: 1 });
  });

  it('forgets an address once its failures leave the window', () => {
    const w = new ErrorWindow(2);
    w.push(record({ upstreamStatuses: [500, 500], upstreamAddrs: ['a:1', 'a:1'] }));
    w.push(record({ upstreamStatuses: [500], upstreamAddrs: ['b:1'] }));
    expect(w.stats().topFailingUpstream).toEqual({ addr: 'a:1', failures: 2 });
    w.push(ok());
    expect(w.stats().topFailingUpstream).toEqual({ addr: 'b:1', failures: 1 });
  });

  it('keeps running counts equal to a recount over a random stream', () => {
    const random = rng(42);
    const addrs = ['10.0.0.1:3000', '10.0.0.2:3000', '10.0.0.3:3000', 'app_pools'];
    const pick = () => addrs[Math.floor(random() * addrs.length)] as string;
    const statuses = [200, 200, 200, 404, 500, 502, 503, 504];
    const status = () => statuses[Math.floor(random() * statuses.length)] as number;

    for (const size of [1, 7, 100]) {
      const w = new ErrorWindow(size);
      const seen: AccessRecord[] = [];
      for (let n = 0; n < 5_000; n++) {
        const attempts = Math.floor(random() * 4);
        const r = record({
          status: status(),
          upstreamStatuses: Array.from({ length: attempts }, status),
          upstreamAddrs: Array.from({ length: attempts - (random() < 0.1 ? 1 : 0) }, pick),
        });
        const flags = w.push(r);
        expect(flags !== 0).toBe(is5xx(r.status) || r.upstreamStatuses.some(is5xx));
        seen.push(r);
        if (n % 97 !== 0 && n < 4_990) continue;
        const { failures, ...expected } = recount(seen, size);
        const stats = w.stats();
        expect(stats).toMatchObject(expected);
        const max = Math.max(0, ...failures.values());
        if (max === 0) expect(stats.topFailingUpstream).toBeUndefined();
        else expect(failures.get(stats.topFailingUpstream?.addr ?? '')).toBe(max);
        expect(stats.topFailingUpstream?.failures ?? 0).toBe(max);
      }
    }
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects window size %s', (size) => {
    expect(() => new ErrorWindow(size)).toThrow(RangeError);
  });
});
