// Each POST to the Slack webhook, timed and classified by the Slack client
// (notify/slackClient.ts) and exported on scrape (exporter.ts).
import { SLACK_FAILURES, type SlackFailure } from '../vocabulary.js';
import { Histogram } from './histogram.js';

// In ms, from a healthy webhook's tens of milliseconds to SLACK_TIMEOUT_MS's range.
const SLACK_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export class SlackRequests {
  readonly requests = new Histogram(SLACK_BUCKETS_MS);
  readonly failures = Object.fromEntries(SLACK_FAILURES.map((f) => [f, 0])) as Record<SlackFailure, number>;

  /** One POST: how long it took, and why it failed if it did. */
  record(durationMs: number, failure: SlackFailure | undefined): void {
    this.requests.observe(durationMs);
    if (failure !== undefined) this.failures[failure]++;
  }
}
