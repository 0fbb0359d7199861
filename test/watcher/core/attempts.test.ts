// Per-pool failure shares and which pool each attempt of a request went to.
import { describe, expect, it } from 'vitest';
import { AttemptAttributor, is5xx, PoolWindow } from '../../../watcher/detect/attempts.js';
import { record, rng } from './records.js';

const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';
const POOLS = ['blue', 'green'];

describe('PoolWindow', () => {
  it('starts empty', () => {
    expect(new PoolWindow(5).share()).toEqual({ failed: 0, attempts: 0 });
  });

  it('fills up to its size, then forgets the oldest attempt', () => {
    const w = new PoolWindow(3);
    w.push(true);
    w.push(false);
    expect(w.share()).toEqual({ failed: 1, attempts: 2 });
    w.push(true);
    expect(w.share()).toEqual({ failed: 2, attempts: 3 });
    // The first failure leaves the ring.
    w.push(false);
    expect(w.share()).toEqual({ failed: 1, attempts: 3 });
    w.push(false);
    w.push(false);
    expect(w.share()).toEqual({ failed: 0, attempts: 3 });
  });

  it('a window of one holds the last attempt only', () => {
    const w = new PoolWindow(1);
    w.push(true);
    expect(w.share()).toEqual({ failed: 1, attempts: 1 });
    w.push(false);
    expect(w.share()).toEqual({ failed: 0, attempts: 1 });
  });

  it('keeps its running count equal to a recount over a random stream, and totals of every attempt', () => {
    const random = rng(7);
    for (const size of [1, 5, 64]) {
      const w = new PoolWindow(size);
      const seen: boolean[] = [];
      for (let n = 0; n < 2_000; n++) {
        const failed = random() < 0.3;
        w.push(failed);
        seen.push(failed);
        const last = seen.slice(-size);
        expect(w.share()).toEqual({ failed: last.filter(Boolean).length, attempts: last.length });
      }
      // The totals never forget.
      expect(w.counts().total).toEqual({ attempts: seen.length, failed: seen.filter(Boolean).length });
    }
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects size %s', (size) => {
    expect(() => new PoolWindow(size)).toThrow(RangeError);
  });
});

describe('AttemptAttributor', () => {
  const attributor = () => new AttemptAttributor(POOLS);

  it('gives the last attempt to the pool in the X-App-Pool header, whatever Nginx order would say', () => {
    // One attempt, primary not out: by order it would be blue.
    const attempts = attributor().attribute(
      record({ pool: 'green', status: 500, upstreamStatuses: [500], upstreamAddrs: [GREEN] }),
      'blue',
      'green',
      false,
    );
    expect(attempts).toEqual([{ pool: 'green', failed: true, addr: GREEN }]);
  });

  it('gives earlier attempts to the pool their address was learnt for', () => {
    const a = attributor();
    // Green answered from GREEN: learnt.
    a.attribute(record({ pool: 'green', upstreamStatuses: [502, 200], upstreamAddrs: [BLUE, GREEN] }), 'blue', 'green', false);
    // A request whose first attempt went to GREEN (green is the primary here, but the caller says blue):
    // the address wins over the order.
    const attempts = a.attribute(
      record({ pool: 'blue', upstreamStatuses: [500, 200], upstreamAddrs: [GREEN, BLUE] }),
      'blue',
      'green',
      false,
    );
    expect(attempts).toEqual([
      { pool: 'green', failed: true, addr: GREEN },
      { pool: 'blue', failed: false, addr: BLUE },
    ]);
  });

  it('finds a last attempt without a header (timed out, refused) by its learnt address', () => {
    const a = attributor();
    a.attribute(record({ pool: 'green', upstreamStatuses: [500, 200], upstreamAddrs: [BLUE, GREEN] }), 'blue', 'green', false);
    const attempts = a.attribute(
      record({ status: 504, pool: undefined, release: undefined, upstreamStatuses: [504], upstreamAddrs: [GREEN] }),
      'blue',
      'green',
      false,
    );
    expect(attempts).toEqual([{ pool: 'green', failed: true, addr: GREEN }]);
  });

  it("falls back to Nginx's order: the primary first, the backup after it or alone while the primary is out", () => {
    const a = attributor();
    const noHeader = (statuses: number[], addrs: string[]) =>
      record({ status: 502, pool: undefined, release: undefined, upstreamStatuses: statuses, upstreamAddrs: addrs });
    // Two attempts, neither known: primary, then backup.
    expect(a.attribute(noHeader([500, 502], ['10.0.0.1:1', '10.0.0.2:1']), 'blue', 'green', false).map((x) => x.pool)).toEqual([
      'blue',
      'green',
    ]);
    // One attempt: the primary, unless it is out.
    expect(a.attribute(noHeader([502], ['10.0.0.1:1']), 'blue', 'green', false).map((x) => x.pool)).toEqual(['blue']);
    expect(a.attribute(noHeader([502], ['10.0.0.1:1']), 'blue', 'green', true).map((x) => x.pool)).toEqual(['green']);
    // The primary is green after a planned switch: the order follows.
    expect(a.attribute(noHeader([500, 502], ['x:1', 'y:1']), 'green', 'blue', false).map((x) => x.pool)).toEqual(['green', 'blue']);
  });

  it('ignores a pool name the stack does not run, and learns no address from it', () => {
    const a = attributor();
    expect(a.known('purple')).toBeUndefined();
    expect(a.known(undefined)).toBeUndefined();
    expect(a.known('green')).toBe('green');
    const stray = a.attribute(
      record({ pool: 'purple', upstreamStatuses: [500, 200], upstreamAddrs: [BLUE, GREEN] }),
      'blue',
      'green',
      false,
    );
    // By order: the header named no known pool.
    expect(stray.map((x) => x.pool)).toEqual(['blue', 'green']);
    // GREEN was not learnt as "purple": a later first attempt to it goes by order (the primary).
    const later = a.attribute(
      record({ pool: 'green', upstreamStatuses: [500, 200], upstreamAddrs: [GREEN, BLUE] }),
      'blue',
      'green',
      false,
    );
    expect(later.map((x) => x.pool)).toEqual(['blue', 'green']);
  });

  it('relearns an address that now belongs to the other pool (a re-created container)', () => {
    const a = attributor();
    const shared = '172.18.0.9:3000';
    a.attribute(record({ pool: 'green', upstreamStatuses: [500, 200], upstreamAddrs: [BLUE, shared] }), 'blue', 'green', false);
    a.attribute(record({ pool: 'blue', upstreamStatuses: [500, 200], upstreamAddrs: [GREEN, shared] }), 'green', 'blue', false);
    const attempts = a.attribute(
      record({ pool: 'green', upstreamStatuses: [500, 200], upstreamAddrs: [shared, GREEN] }),
      'green',
      'blue',
      false,
    );
    expect(attempts[0]?.pool).toBe('blue');
  });

  it('forgets old addresses instead of growing without bound', () => {
    const a = attributor();
    const learn = (addr: string, pool: string) =>
      a.attribute(record({ pool, upstreamStatuses: [500, 200], upstreamAddrs: ['x:1', addr] }), 'blue', 'green', false);
    // No header: this request teaches nothing itself.
    const firstAttempt = (addr: string) =>
      a.attribute(
        record({ status: 502, pool: undefined, upstreamStatuses: [500, 502], upstreamAddrs: [addr, 'y:1'] }),
        'blue',
        'green',
        false,
      )[0]?.pool;
    learn('a0', 'green');
    for (let i = 1; i < 64; i++) learn(`a${i}`, 'green');
    expect(firstAttempt('a0')).toBe('green');
    // The 65th address starts the map over: a0 is forgotten and goes by order again.
    learn('a64', 'green');
    expect(firstAttempt('a0')).toBe('blue');
    expect(firstAttempt('a64')).toBe('green');
  });

  it('marks 5xx attempts failed, and nothing else', () => {
    const attempts = attributor().attribute(
      record({ pool: 'green', upstreamStatuses: [499, 504, 404, 200], upstreamAddrs: ['a:1', 'b:1', 'c:1', 'd:1'] }),
      'blue',
      'green',
      false,
    );
    expect(attempts.map((x) => x.failed)).toEqual([false, true, false, false]);
    expect(attempts.at(-1)).toEqual({ pool: 'green', failed: false, addr: 'd:1' });
  });

  it('copes with fewer addresses than attempts', () => {
    const attempts = attributor().attribute(
      record({ status: 502, pool: undefined, upstreamStatuses: [502, 502], upstreamAddrs: ['a:1'] }),
      'blue',
      'green',
      false,
    );
    expect(attempts).toEqual([
      { pool: 'blue', failed: true, addr: 'a:1' },
      { pool: 'green', failed: true, addr: undefined },
    ]);
  });
});

describe('is5xx', () => {
  it.each([
    [500, true],
    [599, true],
    [499, false],
    [600, false],
    [200, false],
    [undefined, false],
  ])('%s → %s', (status, expected) => {
    expect(is5xx(status)).toBe(expected);
  });
});
