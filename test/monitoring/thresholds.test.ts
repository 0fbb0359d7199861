// monitoring/rules.yml mirrors the watcher's defaults by hand (PromQL has no
// settings): each number that stands for one is tied here to the schema's
// default, so a change of a default names the rule to edit with it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RESOLVE_FRACTION } from '../../watcher/detect/errorRate.js';
import { watcherConfigSchema } from '../../watcher/config.js';

interface Rule {
  alert?: string;
  expr: string;
  keep_firing_for?: string;
  annotations?: Record<string, string>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const groups = (parseYaml(readFileSync(path.join(ROOT, 'monitoring/rules.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups;
const rule = (name: string): Rule => {
  const found = groups.flatMap((g) => g.rules).find((r) => r.alert === name);
  if (found === undefined) throw new Error(`monitoring/rules.yml has no alert ${name}`);
  return found;
};
const shape = watcherConfigSchema.shape;
const HOLD_SEC = shape.RECOVERY_HOLD_SEC.parse(undefined);
const THRESHOLD = shape.ERROR_RATE_THRESHOLD.parse(undefined) / 100;
const WINDOW = shape.WINDOW_SIZE.parse(undefined);
const POOL_WINDOW = shape.POOL_WINDOW_SIZE.parse(undefined);

/** The numbers an expression compares with (`> 0.02`, `>= 200`), in order. */
const comparisons = (expr: string) => [...expr.matchAll(/(>=?)\s*([0-9.]+)/g)].map(([, op, n]) => `${op} ${Number(n)}`);

describe('monitoring/rules.yml against the watcher defaults', () => {
  it('BlueGreenFailover keeps firing for RECOVERY_HOLD_SEC, as the all-clear waits', () => {
    expect(rule('BlueGreenFailover').keep_firing_for).toBe(`${HOLD_SEC}s`);
  });

  it('BlueGreenOutage looks back RECOVERY_HOLD_SEC for an answer of no pool', () => {
    expect(rule('BlueGreenOutage').expr).toContain(`[${HOLD_SEC}s]`);
  });

  it('BlueGreenErrorRate fires above ERROR_RATE_THRESHOLD, resolves at RESOLVE_FRACTION of it, after WINDOW_SIZE requests', () => {
    const { expr, annotations } = rule('BlueGreenErrorRate');
    expect(comparisons(expr)).toEqual([`> ${THRESHOLD}`, `> ${THRESHOLD * RESOLVE_FRACTION}`, `>= ${WINDOW}`]);
    expect(annotations?.description).toContain(`threshold ${THRESHOLD * 100} %`);
  });

  it('BlueGreenPoolFailing fires above ERROR_RATE_THRESHOLD of a pool’s attempts, after POOL_WINDOW_SIZE of them', () => {
    expect(comparisons(rule('BlueGreenPoolFailing').expr)).toEqual([`> ${THRESHOLD}`, `>= ${POOL_WINDOW}`]);
  });

  it('reads the comparisons of an expression in order', () => {
    expect(comparisons('a / b > 0.02 or (c > 0.01) and d >= 200')).toEqual(['> 0.02', '> 0.01', '>= 200']);
  });
});
