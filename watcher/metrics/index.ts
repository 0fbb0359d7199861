// The metrics stage: traffic counted from the access log in plain fields
// (traffic.ts, histogram.ts), exported in Prometheus's text format on scrape
// (exporter.ts), with the Slack client's own requests (slack.ts).
export { DURATION_BUCKETS_MS, Histogram, quantile } from './histogram.js';
export { NO_POOL, PoolTraffic, STATUS_CLASSES, TrafficMetrics, type PoolTotals, type TrafficOptions } from './traffic.js';
export { createExporter, type Exporter, type ExporterSources } from './exporter.js';
export { DeliveryRequests } from './delivery.js';
