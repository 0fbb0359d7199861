// The attribution step: which pool each attempt of a record went to, worked
// out once per record and read by both the detector (pool windows,
// conditions) and the metrics (each attempt's time by pool). Two attributors
// with two address caches could disagree about a retried request, and each
// paid for the decoding of its addresses.
import type { AccessRecord } from '../types.js';
import { AttemptAttributor, type Attempt } from './attempts.js';

/** The pools' roles as the detector sees them: Nginx's order falls back on these. */
export interface PoolRoles {
  readonly primaryPool: string;
  readonly servingPool: string;
}

export class Attribution {
  private readonly attributor: AttemptAttributor;
  // The record last attributed, and its attempts: the detector asks first,
  // the metrics after it, for the same record.
  private record: AccessRecord | undefined;
  private attempts: readonly Attempt[] = [];

  constructor(
    private readonly pools: readonly string[],
    private readonly roles: PoolRoles,
  ) {
    this.attributor = new AttemptAttributor(pools);
  }

  /**
   * The attempts of `record`, attributed with the roles as they are when it
   * is first asked about. The detector asks before the line can change the
   * serving pool, so the metrics read the attempts exactly as it counted them.
   */
  of(record: AccessRecord): readonly Attempt[] {
    if (record === this.record) return this.attempts;
    const primary = this.roles.primaryPool;
    const backup = this.pools.find((p) => p !== primary) ?? primary;
    this.attempts = this.attributor.attribute(record, primary, backup, this.roles.servingPool !== primary);
    this.record = record;
    return this.attempts;
  }

  /** A new line begins: the same record seen again (a test, a replay) is attributed afresh. */
  forget(): void {
    this.record = undefined;
  }

  /** A pool name this stack runs, or undefined. */
  known(pool: string | undefined): string | undefined {
    return this.attributor.known(pool);
  }
}
