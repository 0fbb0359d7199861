// The last `size` requests as a ring buffer with running counts: each line adds
// its own contribution and takes back the evicted one's, so the cost per line
// is O(1) however large the window. The per-address map is only scanned for a
// snapshot, which is taken when an alert is built (rare).
import type { AccessRecord } from '../types.js';
import type { WindowStats } from './view.js';
import { is5xx } from './attempts.js';

const CLIENT_ERROR = 1;
const UPSTREAM_ERROR = 2;

export class ErrorWindow {
  readonly size: number;
  private readonly flags: Uint8Array;
  /** Per slot: the address of each 5xx attempt; undefined for the common all-good request. */
  private readonly failedAddrs: (string[] | undefined)[];
  private readonly failuresByAddr = new Map<string, number>();
  private next = 0;
  private filled = 0;
  private errors = 0;
  private clientErrors = 0;
  private upstreamErrors = 0;
  private changed = true;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`window size must be a positive integer, got ${size}`);
    }
    this.size = size;
    this.flags = new Uint8Array(size);
    this.failedAddrs = new Array<string[] | undefined>(size).fill(undefined);
  }

  get count(): number {
    return this.filled;
  }

  /** Percentage of counted requests that are errors; 0 while empty. */
  get errorRate(): number {
    return percent(this.errors, this.filled);
  }

  /** Percentage of counted requests whose final status, the one clients saw, is 5xx. */
  get clientErrorRate(): number {
    return percent(this.clientErrors, this.filled);
  }

  /**
   * Whether the last push changed the counts (or filled a slot): when it did
   * not, the rates are what they were, and nothing that reads them needs to
   * look again. Nearly every line in a full window of good requests.
   */
  get moved(): boolean {
    return this.changed;
  }

  /** Returns the request's error flags: 0 for a request with no 5xx anywhere. */
  push(record: AccessRecord): number {
    const slot = this.next;
    let evicted = 0;
    const grew = this.filled < this.size;
    if (!grew) {
      evicted = this.flags[slot] as number;
      // Only a slot with an error has counts or addresses to take back.
      if (evicted !== 0) this.evict(slot, evicted);
    } else {
      this.filled++;
    }
    this.next = slot + 1 === this.size ? 0 : slot + 1;

    let flags = is5xx(record.status) ? CLIENT_ERROR : 0;
    let addrs: string[] | undefined;
    // Read once, and only for a line with a failed attempt: a record decodes
    // its addresses each time they are read.
    let attemptAddrs: readonly string[] | undefined;
    const statuses = record.upstreamStatuses;
    for (let i = 0; i < statuses.length; i++) {
      if (!is5xx(statuses[i])) continue;
      flags |= UPSTREAM_ERROR;
      // Attempt i went to address i; an attempt with no address has nothing to blame.
      const addr = (attemptAddrs ??= record.upstreamAddrs)[i];
      if (addr === undefined) continue;
      (addrs ??= []).push(addr);
      this.failuresByAddr.set(addr, (this.failuresByAddr.get(addr) ?? 0) + 1);
    }

    this.flags[slot] = flags;
    if (addrs !== undefined) this.failedAddrs[slot] = addrs;
    if (flags !== 0) this.add(flags, 1);
    this.changed = flags !== 0 || evicted !== 0 || grew;
    return flags;
  }

  stats(): WindowStats {
    return {
      size: this.size,
      count: this.filled,
      errors: this.errors,
      clientErrors: this.clientErrors,
      upstreamErrors: this.upstreamErrors,
      errorRate: this.errorRate,
      clientErrorRate: this.clientErrorRate,
      upstreamErrorRate: percent(this.upstreamErrors, this.filled),
      topFailingUpstream: this.topFailingUpstream(),
    };
  }

  private evict(slot: number, flags: number): void {
    this.add(flags, -1);
    const addrs = this.failedAddrs[slot];
    if (addrs === undefined) return;
    this.failedAddrs[slot] = undefined;
    for (const addr of addrs) {
      const left = (this.failuresByAddr.get(addr) ?? 0) - 1;
      // Delete at zero so addresses that stopped failing cannot pile up.
      if (left > 0) this.failuresByAddr.set(addr, left);
      else this.failuresByAddr.delete(addr);
    }
  }

  private add(flags: number, sign: 1 | -1): void {
    if (flags !== 0) this.errors += sign;
    if (flags & CLIENT_ERROR) this.clientErrors += sign;
    if (flags & UPSTREAM_ERROR) this.upstreamErrors += sign;
  }

  /** Most failures wins; ties go to the smaller address so the answer is stable. */
  private topFailingUpstream(): WindowStats['topFailingUpstream'] {
    let top: { addr: string; failures: number } | undefined;
    for (const [addr, failures] of this.failuresByAddr) {
      if (top === undefined || failures > top.failures || (failures === top.failures && addr < top.addr)) {
        top = { addr, failures };
      }
    }
    return top;
  }
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : (part / whole) * 100;
}
