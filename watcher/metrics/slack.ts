// Each POST to the Slack webhook, timed and classified by the Slack client
// (notify/slackClient.ts) and exported on scrape (exporter.ts).
import { SLACK_FAILURES, type SlackFailure } from '../vocabulary.js';
import { Histogram } from './histogram.js';

// From a healthy webhook's tens of milliseconds to SLACK_TIMEOUT_MS's range.
const SLACK_BUCKETS_SEC = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class SlackRequests {
  readonly requests = new Histogram(SLACK_BUCKETS_SEC);
  readonly failures = Object.fromEntries(SLACK_FAILURES.map((f) => [f, 0])) as Record<SlackFailure, number>;

  /** One POST: how long it took, and why it failed if it did. */
  record(durationMs: number, failure: SlackFailure | undefined): void {
    this.requests.observe(durationMs / 1000);
    if (failure !== undefined) this.failures[failure]++;
  }
}
