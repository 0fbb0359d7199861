// A fixed-bucket histogram counted in plain fields: observe() is a short
// linear walk and one increment, cheap enough for every access-log line;
// prom-client reads it only when scraped (exporter.ts), and the status page's
// series take its differences over time (page/series.ts).

/**
 * Upper bounds of the duration buckets, in milliseconds (the records' unit;
 * /metrics says seconds): from the demo app's ~1 ms to Nginx's timeouts (a
 * few seconds) and beyond. Fine at the low end, where this stack's requests
 * are, so p50/p99 interpolated within a bucket stay close.
 */
export const DURATION_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

// Whole milliseconds up to this many find their bucket in a table: every
// line's two times are whole ms (the parser's unit), and a lookup is cheaper
// than walking the bounds. 10,001 bytes for the default bounds, shared.
const MAX_TABLE = 10_000;
const tables = new WeakMap<readonly number[], Uint8Array>();

/** For each whole v in 0..min(last bound, MAX_TABLE): the bucket of v. */
function bucketTable(bounds: readonly number[]): Uint8Array {
  let table = tables.get(bounds);
  if (table === undefined) {
    const top = Math.min(Math.floor(bounds[bounds.length - 1] ?? 0), MAX_TABLE);
    table = new Uint8Array(top + 1);
    for (let v = 0, i = 0; v <= top; v++) {
      while (i < bounds.length && v > (bounds[i] as number)) i++;
      table[v] = i;
    }
    tables.set(bounds, table);
  }
  return table;
}

export class Histogram {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly table: Uint8Array;

  constructor(readonly bounds: readonly number[] = DURATION_BUCKETS_MS) {
    if (bounds.length > 255) throw new RangeError(`at most 255 bounds, got ${bounds.length}`);
    this.counts = new Float64Array(bounds.length + 1);
    this.table = bucketTable(bounds);
  }

  observe(value: number): void {
    const table = this.table;
    let i: number;
    if ((value | 0) === value && value >= 0 && value < table.length) {
      i = table[value] as number;
    } else {
      const bounds = this.bounds;
      i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
    }
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * The q-quantile (0..1) of per-bucket counts, interpolated linearly within
 * its bucket as PromQL's histogram_quantile does; a quantile in the +Inf
 * bucket is the highest bound. Undefined when nothing was counted.
 */
export function quantile(bounds: readonly number[], counts: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    if (n > 0 && below + n >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return bounds[bounds.length - 1];
}
