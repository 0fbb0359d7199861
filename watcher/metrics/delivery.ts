// Each request of one integration (the Slack webhook, an Alertmanager),
// timed and classified by the delivery layer (notify/sink.ts,
// notify/alertmanager.ts) and exported on scrape (exporter.ts).
import { DELIVERY_FAILURES, type DeliveryFailure } from '../vocabulary.js';
import { Histogram } from './histogram.js';

// In ms, from a healthy receiver's tens of milliseconds to the timeouts' range.
const REQUEST_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export class DeliveryRequests {
  readonly requests = new Histogram(REQUEST_BUCKETS_MS);
  readonly failures = Object.fromEntries(DELIVERY_FAILURES.map((f) => [f, 0])) as Record<DeliveryFailure, number>;

  /** One request: how long it took, and why it failed if it did. */
  record(durationMs: number, failure: DeliveryFailure | undefined): void {
    this.requests.observe(durationMs);
    if (failure !== undefined) this.failures[failure]++;
  }
}
