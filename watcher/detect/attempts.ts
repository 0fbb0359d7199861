// Per-pool failure share: of the last `size` attempts Nginx sent to a pool,
// how many failed (5xx, timeout or refused: Nginx logs all three as a 5xx in
// $upstream_status). This is the signal failover hides: Nginx takes a failing
// primary out for fail_timeout after each failure, so a pool failing one
// request in five shows as under 1% of all requests, yet 20% of its own.
import type { AccessRecord } from '../types.js';

export interface PoolShare {
  /** Failed attempts among the last `attempts` sent to the pool. */
  failed: number;
  attempts: number;
}

/** The share, and every attempt since the watcher started: a caller compares two readings for a period's figures. */
export interface PoolCounts extends PoolShare {
  total: PoolShare;
}

/** The last `size` attempts to one pool as a ring of failed flags with a running count, and totals. */
export class PoolWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private failed = 0;
  private totalAttempts = 0;
  private totalFailed = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool window must be a positive integer, got ${size}`);
    this.ring = new Uint8Array(size);
  }

  push(failed: boolean): void {
    const slot = this.next;
    if (this.filled === this.size) this.failed -= this.ring[slot] ?? 0;
    else this.filled++;
    this.ring[slot] = failed ? 1 : 0;
    this.totalAttempts++;
    if (failed) {
      this.failed++;
      this.totalFailed++;
    }
    this.next = slot + 1 === this.size ? 0 : slot + 1;
  }

  share(): PoolShare {
    return { failed: this.failed, attempts: this.filled };
  }

  counts(): PoolCounts {
    return { ...this.share(), total: { attempts: this.totalAttempts, failed: this.totalFailed } };
  }

  /** Attempts since the watcher started, without the allocation of counts(): an incident reads its own from the difference. */
  get attemptsSoFar(): number {
    return this.totalAttempts;
  }

  get failedSoFar(): number {
    return this.totalFailed;
  }
}

/** One attempt of a request, attributed to a pool. */
export interface Attempt {
  pool: string;
  failed: boolean;
  addr: string | undefined;
}

// Addresses change when a pool's container is re-created; a bounded map
// forgets old ones instead of growing.
const MAX_ADDRESSES = 64;

/**
 * Says which pool each attempt of a request went to. The last attempt's pool
 * is the X-App-Pool header Nginx logged (`pool=`), when the app answered.
 * Earlier attempts, and a last one that timed out or was refused (no header),
 * are found by address, learnt from attempts whose pool was known; failing
 * that, by Nginx's order: it tries the primary first and the backup only
 * after it, or alone while the primary is out.
 */
export class AttemptAttributor {
  private readonly poolOf = new Map<string, string>();

  constructor(private readonly pools: readonly string[]) {}

  /** Only for lines with a failed or retried attempt, or no pool: it decodes addresses. */
  attribute(record: AccessRecord, primary: string, backup: string, primaryOut: boolean): Attempt[] {
    const statuses = record.upstreamStatuses;
    const addrs = record.upstreamAddrs;
    const last = statuses.length - 1;
    const finalPool = this.known(record.pool);
    const lastAddr = addrs[last];
    if (finalPool !== undefined && lastAddr !== undefined) this.learn(lastAddr, finalPool);
    const attempts: Attempt[] = [];
    for (let i = 0; i <= last; i++) {
      const addr = addrs[i];
      const byOrder = i < last ? primary : last > 0 || primaryOut ? backup : primary;
      const pool = (i === last ? finalPool : undefined) ?? (addr === undefined ? undefined : this.poolOf.get(addr)) ?? byOrder;
      attempts.push({ pool, failed: is5xx(statuses[i]), addr });
    }
    return attempts;
  }

  /** A pool name this stack runs, or undefined: a stray header must not create pools. */
  known(pool: string | undefined): string | undefined {
    return pool !== undefined && this.pools.includes(pool) ? pool : undefined;
  }

  private learn(addr: string, pool: string): void {
    if (this.poolOf.get(addr) === pool) return;
    if (this.poolOf.size >= MAX_ADDRESSES) this.poolOf.clear();
    this.poolOf.set(addr, pool);
  }
}

export function is5xx(status: number | undefined): boolean {
  return status !== undefined && status >= 500 && status <= 599;
}
