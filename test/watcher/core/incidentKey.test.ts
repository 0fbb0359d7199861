import { describe, expect, it } from 'vitest';
import { INCIDENT_KINDS, incidentKey, incidentKeyPool } from '../../../watcher/vocabulary.js';

describe('incidentKey', () => {
  it('keys a pool condition by kind and pool, and reads the pool back', () => {
    for (const kind of ['failover', 'degraded'] as const) {
      for (const pool of ['blue', 'green']) {
        expect(incidentKey(kind, pool)).toBe(`${kind}:${pool}`);
        expect(incidentKeyPool(incidentKey(kind, pool))).toBe(pool);
      }
    }
  });

  it('keys a condition of the whole stack by its kind alone, with no pool to read back', () => {
    for (const kind of INCIDENT_KINDS.filter((k) => k !== 'failover' && k !== 'degraded')) {
      expect(incidentKey(kind, 'blue')).toBe(kind);
      expect(incidentKeyPool(incidentKey(kind))).toBeUndefined();
    }
  });

  it('refuses a pool condition without its pool, and reads no pool from a key of an unknown kind', () => {
    expect(() => incidentKey('failover')).toThrow(/needs a pool/);
    expect(incidentKeyPool('purple:blue')).toBeUndefined();
  });
});
