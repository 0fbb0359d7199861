// The data that flows through the watcher's pipeline:
//   source (lines) → parse (AccessRecord) → detect (ConditionView) → policy (Notification) → notify (Slack)
// The record and the clock are shared by every stage; each stage's own
// output type lives in its folder (detect/view.ts, policy/notification.ts),
// and the words they use in vocabulary.ts.

/**
 * One Nginx access-log line, parsed. See docs/access-log.md.
 * The parser's records decode a field each time it is read (the detector reads
 * few of them), so read a field once rather than in a loop.
 */
export interface AccessRecord {
  /** `time=`, ISO 8601 with milliseconds, as Nginx wrote it. */
  readonly time: string | undefined;
  readonly requestId: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** Final status sent to the client. A line without one is malformed. */
  readonly status: number;
  /** Pool that served the final attempt (`X-App-Pool`); undefined for `-`. */
  readonly pool: string | undefined;
  readonly release: string | undefined;
  /** Every upstream attempt, in order (`"500, 200"` → [500, 200]); empty for `-`. */
  readonly upstreamStatuses: readonly number[];
  readonly upstreamAddrs: readonly string[];
  /** `request_time`, in whole milliseconds (Nginx's precision): whole numbers cost no allocation. */
  readonly requestMs: number | undefined;
  /** Each attempt's `upstream_response_time`, in ms; attempts without one (`-`) are skipped. */
  readonly upstreamResponseMs: readonly number[];
  /** The last attempt's, in ms: the only one on most lines, read without building the list. */
  readonly upstreamMs: number | undefined;
}

export type ParseResult =
  | { ok: true; record: AccessRecord }
  | { ok: false; reason: string };

/** A `make switch` announced ahead of time, so the flip it causes is not paged as a failover. */
export interface PlannedSwitch {
  id: string;
  from: string | undefined;
  to: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
}

export type Clock = () => number;
