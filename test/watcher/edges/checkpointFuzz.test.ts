// Fuzz of the checkpoint loader: a saved state with every section populated,
// one field at a time corrupted at random (wrong type, out of range, too
// long, removed, garbage), seeded so a failure replays. Whatever the
// corruption, the file still loads, says at most one thing about the section
// hit, and every other section comes back as saved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedState } from '../../../watcher/state/checkpoint.js';
import { rng } from '../../../testkit/rng.js';
import { checkpointDir, roundTripped, saved, STATE } from './savedState.js';

const SEED = 20_261_122;
const CASES = 600;

type Path = Array<string | number>;
type Json = Record<string, any>;

/** The section a field belongs to; a field above the sections (`detector`) names their group. */
function sectionOf(path: Path, ids: readonly string[]): string {
  const [top, second, third] = path;
  if (top === 'position') return 'position';
  if (top === 'detector') {
    if (second === undefined) return 'detector';
    if (second === 'servingPool' || second === 'primaryPool') return 'detector.pools';
    if ((second === 'failover' || second === 'degraded') && third !== undefined) return `detector.${second}.${third}`;
    return `detector.${second}`;
  }
  if (top === 'policy' && second === 'incidents' && third !== undefined) return `policy.incidents.${ids[third as number]}`;
  if (top === 'pending' && second !== undefined) return `pending.${second}`;
  return path.slice(0, 2).join('.');
}

/** A loaded state as named sections: incidents by id, pending messages apart (compared by position). */
function sections(state: LoadedState): Record<string, unknown> {
  const d = state.detector;
  const named: Record<string, unknown> = {
    position: state.position,
    'detector.pools': { servingPool: d.servingPool, primaryPool: d.primaryPool },
    'detector.usedSwitchIds': d.usedSwitchIds,
    'detector.outage': d.outage,
    'detector.errorRate': d.errorRate,
    'policy.maintenance': state.policy.maintenance,
    'policy.quiet': state.policy.quiet,
  };
  for (const pool of ['blue', 'green'] as const) {
    named[`detector.failover.${pool}`] = d.failover[pool];
    named[`detector.degraded.${pool}`] = d.degraded?.[pool];
  }
  for (const incident of state.policy.incidents) named[`policy.incidents.${incident.id}`] = incident;
  return named;
}

const within = (section: string, group: string) => section === group || section.startsWith(`${group}.`);

/** Every path in `value` below the root, but the file's version and time. */
function paths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const keys: Array<string | number> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys
    .filter((key) => prefix.length > 0 || (key !== 'version' && key !== 'savedAt'))
    .flatMap((key) => [[...prefix, key], ...paths((value as Json)[key], [...prefix, key])]);
}

const CORRUPTIONS = ['wrong type', 'out of range', 'too long', 'removed', 'garbage'] as const;
const GARBAGE = [null, {}, [], 'garbage', -0.5, true, '\u0000', { version: 2 }, [[]]];

/** Applies `corruption` to the field at `path` of `file`, in place. */
function corrupt(file: Json, path: Path, corruption: (typeof CORRUPTIONS)[number], random: () => number): void {
  const parent = path.slice(0, -1).reduce((node: Json, key) => node[key], file);
  const key = path.at(-1)!;
  const value = parent[key];
  const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)]!;
  switch (corruption) {
    case 'wrong type':
      parent[key] = typeof value === 'string' ? 12345 : typeof value === 'number' ? String(value) : typeof value === 'boolean' ? 'true' : Array.isArray(value) ? { 0: value[0] } : 'object';
      return;
    case 'out of range':
      parent[key] =
        typeof value === 'number' ? pick([-1, 1.5, 2 ** 64, -(2 ** 64)]) : typeof value === 'string' ? '' : pick([null, -1]);
      return;
    case 'too long':
      parent[key] =
        typeof value === 'string' ? value + 'x'.repeat(5_000) : Array.isArray(value) ? Array(300).fill(value[0] ?? 0) : typeof value === 'number' ? 1e308 : pick(GARBAGE);
      return;
    case 'removed':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return;
    case 'garbage':
      parent[key] = pick(GARBAGE);
      return;
  }
}

describe('checkpoint fuzz: one corrupted field never costs another section', () => {
  const ctx = checkpointDir();
  afterAll(() => ctx.remove());
  const original = roundTripped(STATE) as LoadedState;
  const ids = original.policy.incidents.map((i) => i.id);
  const expectedSections = sections(original);
  // Round robin over the sections, so the small ones (a count, a flag) are hit as often as the pending messages.
  const bySection = new Map<string, Path[]>();
  beforeAll(() => {
    for (const path of paths(saved())) {
      const section = sectionOf(path, ids);
      bySection.set(section, [...(bySection.get(section) ?? []), path]);
    }
  });

  it(`${CASES} corruptions, seed ${SEED}`, () => {
    const random = rng(SEED);
    const groups = [...bySection.values()];
    const hit = new Set<string>();
    for (let n = 0; n < CASES; n++) {
      const group = groups[n % groups.length]!;
      const path = group[Math.floor(random() * group.length)]!;
      const corruption = CORRUPTIONS[Math.floor(random() * CORRUPTIONS.length)]!;
      const section = sectionOf(path, ids);
      const what = `case ${n}: ${corruption} at ${path.join('.')} (section ${section})`;
      const file = saved();
      corrupt(file, path, corruption, random);
      ctx.write(file);
      ctx.logs.length = 0;
      const state = ctx.checkpoint().load();
      if (state === undefined) throw new Error(`${what}: not loaded: ${JSON.stringify(ctx.logs)}`);
      hit.add(section);

      // One warning per section dropped: one, or one per section of a group hit as a whole.
      const warned = ctx.logs.filter((l) => l.level === 'warn').map((l) => String(l.section));
      expect(new Set(warned).size, `${what}: ${warned.join(', ')}`).toBe(warned.length);
      for (const name of warned) expect(within(section, name) || within(name, section), `${what}: warned about ${name}`).toBe(true);
      if (!section.includes('.')) expect(warned.length, what).toBeLessThanOrEqual(1);

      // A dropped message makes what Slack heard of its incident unknown: that is the repair, not a loss.
      if (within(section, 'pending')) for (const incident of state.policy.incidents) if (incident.told) delete incident.told.lost;
      const loaded = sections(state);
      for (const [name, value] of Object.entries(expectedSections)) {
        if (!within(name, section)) expect(loaded[name], `${what}: ${name}`).toEqual(value);
      }
      if (section !== 'pending') {
        // Every message but the one corrupted, in order.
        const index = section.startsWith('pending.') ? Number(section.split('.')[1]) : -1;
        const others = (list: unknown[]) => list.filter((_, k) => k !== index);
        const pending = state.pending.length === original.pending.length ? others(state.pending) : state.pending;
        expect(pending, `${what}: pending`).toEqual(others(original.pending));
      }
    }
    expect([...hit].sort()).toEqual([...bySection.keys()].sort());
  });
});
