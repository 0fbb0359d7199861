// The AccessRecord the parser returns. The fields the detector and the metrics
// read on every line (status, pool, release, upstream statuses, the times) are
// found up front; the others only when read, by scanning the line the first
// time one of them is, which only the rare line that raises an alert or blames
// an upstream needs.
// Decoding every field of every line was most of the parser's cost.
import type { AccessRecord } from '../types.js';
import { scanSpans } from './scan.js';
import { METHOD, PATH, RID, type Spans, TIME, UPSTREAM_ADDR, UPSTREAM_RESPONSE_TIME } from './spans.js';
import { addrList, millisList, optional } from './values.js';

export class LineRecord implements AccessRecord {
  constructor(
    private readonly line: string,
    readonly status: number,
    readonly pool: string | undefined,
    readonly release: string | undefined,
    readonly upstreamStatuses: readonly number[],
    /** Decoded up front: the metrics read both on every line. */
    readonly requestMs: number | undefined,
    readonly upstreamMs: number | undefined,
    /** Where every value is; found on first need unless the scanner read the line already. */
    private spans?: Spans,
    /** upstream_response_time as the fast reader captured it, for the rare line whose list is read. */
    private readonly rawUpstreamTimes?: string,
  ) {}

  get time(): string | undefined {
    return optional(this.raw(TIME));
  }

  get requestId(): string | undefined {
    return optional(this.raw(RID));
  }

  get method(): string | undefined {
    return optional(this.raw(METHOD));
  }

  get path(): string | undefined {
    return optional(this.raw(PATH));
  }

  get upstreamAddrs(): readonly string[] {
    return addrList(this.raw(UPSTREAM_ADDR));
  }

  get upstreamResponseMs(): readonly number[] {
    return millisList(this.rawUpstreamTimes ?? this.raw(UPSTREAM_RESPONSE_TIME));
  }

  private raw(field: number): string | undefined {
    const spans = (this.spans ??= scanSpans(this.line).spans);
    return rawValue(this.line, spans, field);
  }
}

export function rawValue(line: string, spans: Spans, field: number): string | undefined {
  const start = spans[2 * field] ?? -1;
  return start < 0 ? undefined : line.slice(start, spans[2 * field + 1]);
}
