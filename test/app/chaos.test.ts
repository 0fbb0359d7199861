import { describe, expect, it } from 'vitest';
import { Chaos, parseChaosParams } from '../../app/chaos.js';

const parse = (query: string) => parseChaosParams(new URLSearchParams(query));

describe('parseChaosParams', () => {
  it('reads the mode and defaults the rate to 1', () => {
    expect(parse('mode=error')).toEqual({ ok: true, settings: { mode: 'error', rate: 1 } });
    expect(parse('mode=timeout&rate=0.25')).toEqual({ ok: true, settings: { mode: 'timeout', rate: 0.25 } });
    expect(parse('rate=1&mode=error')).toEqual({ ok: true, settings: { mode: 'error', rate: 1 } });
    expect(parse('mode=error&rate=.5')).toEqual({ ok: true, settings: { mode: 'error', rate: 0.5 } });
  });

  it.each(['', 'mode=', 'mode=ERROR', 'mode=crash', 'rate=0.5'])('rejects mode in %j, naming the accepted values', (q) => {
    const r = parse(q);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^mode must be one of: error, timeout \((missing|got ".*")\)$/);
  });

  it.each(['0', '0.0', '1.01', '2', '-0.5', 'abc', '', 'NaN', 'Infinity', '0x1', '1e0', ' 1'])(
    'rejects rate=%j, naming the accepted range',
    (rate) => {
      const r = parse(`mode=error&rate=${encodeURIComponent(rate)}`);
      expect(r).toEqual({ ok: false, error: `rate must be a number with 0 < rate <= 1 (got "${rate}")` });
    },
  );
});

describe('Chaos', () => {
  const sequence = (...values: number[]) => {
    let i = 0;
    return () => values[i++ % values.length] ?? 0;
  };

  it('injects nothing, and draws no random number, while off', () => {
    let draws = 0;
    const chaos = new Chaos(() => {
      draws += 1;
      return 0;
    });
    expect(chaos.settings).toBeUndefined();
    expect(chaos.pick()).toBeUndefined();
    expect(draws).toBe(0);
  });

  it('affects every request at rate 1', () => {
    const chaos = new Chaos(sequence(0, 0.5, 0.999999));
    chaos.start({ mode: 'timeout', rate: 1 });
    expect([chaos.pick(), chaos.pick(), chaos.pick()]).toEqual(['timeout', 'timeout', 'timeout']);
  });

  it('affects the requests whose draw falls below the rate', () => {
    const chaos = new Chaos(sequence(0.1, 0.9, 0.29, 0.3));
    chaos.start({ mode: 'error', rate: 0.3 });
    expect([chaos.pick(), chaos.pick(), chaos.pick(), chaos.pick()]).toEqual(['error', undefined, 'error', undefined]);
  });

  it('replaces mode and rate on a second start, and stop returns what was active', () => {
    const chaos = new Chaos(sequence(0.6));
    chaos.start({ mode: 'error', rate: 0.5 });
    expect(chaos.pick()).toBeUndefined();
    chaos.start({ mode: 'timeout', rate: 0.7 });
    expect(chaos.settings).toEqual({ mode: 'timeout', rate: 0.7 });
    expect(chaos.pick()).toBe('timeout');
    expect(chaos.stop()).toEqual({ mode: 'timeout', rate: 0.7 });
    expect(chaos.pick()).toBeUndefined();
    expect(chaos.stop()).toBeUndefined();
  });
});
