import { describe, expect, it } from 'vitest';
import { USAGE, parseDrillArgs } from '../../bench/drill/options.js';

describe('drill options', () => {
  it('defaults to 20 requests/s, 5 s per phase and the release phases on', () => {
    expect(parseDrillArgs([])).toEqual({ ok: true, options: { rate: 20, seconds: 5, release: true } });
  });

  it('takes --rate, --seconds and --out', () => {
    expect(parseDrillArgs(['--rate', '50', '--seconds=8', '--out', '/tmp/d.json'])).toEqual({
      ok: true,
      options: { rate: 50, seconds: 8, out: '/tmp/d.json', release: true },
    });
  });

  it('--no-release skips the release phases; --release is the default said out loud', () => {
    expect(parseDrillArgs(['--no-release'])).toMatchObject({ ok: true, options: { release: false } });
    expect(parseDrillArgs(['--release'])).toMatchObject({ ok: true, options: { release: true } });
    expect(parseDrillArgs(['--release=no'])).toMatchObject({ ok: false, problems: [expect.stringContaining('--release')] });
    expect(USAGE).toContain('--no-release');
  });

  it('reports each bad value on its own line, naming the option and the value', () => {
    const r = parseDrillArgs(['--rate', 'fast', '--seconds', '0.5']);
    expect(r.ok).toBe(false);
    if (r.ok !== false) return;
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/^--rate: .*\(got "fast"\)$/);
    expect(r.problems[1]).toMatch(/^--seconds: .*2.*\(got "0.5"\)$/);
  });

  it('rejects unknown options and stray arguments', () => {
    expect(parseDrillArgs(['--rps', '5'])).toMatchObject({ ok: false, problems: [expect.stringContaining('--rps')] });
    expect(parseDrillArgs(['now'])).toMatchObject({ ok: false });
  });

  it('answers --help', () => {
    expect(parseDrillArgs(['--help'])).toEqual({ ok: 'help' });
  });
});
