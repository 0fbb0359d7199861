// GET /metrics: the stack as Prometheus sees it. Every value is read from the
// plain counters the pipeline keeps (traffic.ts, WatcherStats, the source's
// status) at scrape time, in prom-client's `collect` hooks, so the hot path
// never touches prom-client. Names follow Prometheus's conventions: base
// units (seconds, bytes), `_total` counters, and bounded labels only (pool,
// class, kind, decision, outcome, reason; never a path or an address).
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { PipelineView } from '../operator/stats.js';
import type { Handler } from '../operator/server.js';
import type { SourceStatus } from '../source/index.js';
import {
  DECISIONS,
  INCIDENT_KINDS,
  OUTCOMES,
  DELIVERY_FAILURES,
  type AlertKind,
  type Decision,
  type Outcome,
  type DeliveryFailure,
} from '../vocabulary.js';
import type { Histogram } from './histogram.js';
import { STATUS_CLASSES, type TrafficMetrics } from './traffic.js';

/** What the exporter reads on each scrape. */
export interface ExporterSources {
  traffic: TrafficMetrics;
  view(): PipelineView;
  source(): SourceStatus;
  /** Lines as counted by the pipeline. */
  lines(): { read: number; malformed: number; droppedTooLong: number };
  /** Policy decisions and delivery outcomes per alert kind. */
  alerts(): Record<AlertKind, Record<Decision | Outcome, number>>;
  /** Requests per integration: the Slack webhook, and Alertmanager when configured. */
  delivery: Record<Integration, { requests: Histogram; failures: Record<DeliveryFailure, number> }>;
}

/** The integrations /metrics times, each under its own metric names. */
export const INTEGRATIONS = { slack: 'the Slack webhook', alertmanager: 'Alertmanager (every URL)' } as const;
export type Integration = keyof typeof INTEGRATIONS;

type Labels = Record<string, string>;

/**
 * A histogram kept elsewhere in plain counts of milliseconds (histogram.ts),
 * in the shape prom-client's registry reads from its own histograms on a
 * scrape, in seconds: one cumulative `_bucket` per bound, `_sum` and `_count`.
 */
class CountedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => { labels: Labels; histogram: Histogram }[],
  ) {}

  async get() {
    const values: { labels: Labels; value: number; metricName: string }[] = [];
    for (const { labels, histogram } of this.read()) {
      let cumulative = 0;
      histogram.bounds.forEach((bound, i) => {
        cumulative += histogram.counts[i] as number;
        values.push({ labels: { ...labels, le: String(bound / 1000) }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: histogram.sum / 1000, metricName: `${this.name}_sum` });
      values.push({ labels, value: histogram.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export interface Exporter {
  registry: Registry;
  handler: Handler;
}

const NEVER_MS = 2 ** 31 - 1;
const DROPPED_METRICS = [
  // Gauges named like counters, which `promtool check metrics` rejects; the
  // event loop lag and heap figures say more about the watcher anyway.
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
  // The unsampled histogram's (see createExporter).
  ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((stat) => `nodejs_eventloop_lag_${stat}_seconds`),
];

export function createExporter(src: ExporterSources): Exporter {
  const registry = new Registry();
  // prom-client's event-loop delay histogram samples with a timer, every 10 ms
  // by default: 100 wake-ups a second, most of the watcher's CPU at rest, and
  // each of its figures includes the sampling interval, so a slower sampler
  // only reads worse. prom-client has no switch to leave it out: its timer is
  // set never to fire and its gauges are dropped. nodejs_eventloop_lag_seconds
  // stays: it is measured at each scrape, with no timer.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: NEVER_MS });
  for (const name of DROPPED_METRICS) registry.removeSingleMetric(name);
  const register = [registry];
  const pools = () => [...src.traffic.byPool.keys()];

  /**
   * A metric whose values are read, not counted: reset and set on each scrape
   * (inc from nothing is set, for a counter as for a gauge).
   */
  const reported =
    (Metric: typeof Counter | typeof Gauge) =>
    <T extends string>(name: string, help: string, labelNames: readonly T[], values: () => [Labels, number][]) =>
      new Metric<T>({
        name,
        help,
        labelNames,
        registers: register,
        collect() {
          this.reset();
          for (const [labels, value] of values()) this.inc(labels as Partial<Record<T, string>>, value);
        },
      });
  const counter = reported(Counter);
  const gauge = reported(Gauge);
  // The registry takes any object with prom-client's metric shape; its types name only its own classes.
  const histogram = (name: string, help: string, read: () => { labels: Labels; histogram: Histogram }[]) =>
    registry.registerMetric(new CountedHistogram(name, help, read) as unknown as Metric);

  // Traffic, from the access log.
  counter('bluegreen_requests_total', 'Requests Nginx logged, by the pool that answered (none: no pool did) and status class.', ['pool', 'class'], () =>
    [...src.traffic.byPool].flatMap(([pool, t]) => STATUS_CLASSES.map((c, i): [Labels, number] => [{ pool, class: c }, t.byClass[i] as number])),
  );
  histogram('bluegreen_request_duration_seconds', "Nginx's request_time, by the pool that answered.", () =>
    [...src.traffic.byPool].map(([pool, t]) => ({ labels: { pool }, histogram: t.requestDuration })),
  );
  histogram('bluegreen_upstream_response_duration_seconds', "Each upstream attempt's upstream_response_time, by the pool it went to.", () =>
    [...src.traffic.byPool].map(([pool, t]) => ({ labels: { pool }, histogram: t.upstreamDuration })),
  );
  const poolTotals = (pick: 'attempts' | 'failed') => (): [Labels, number][] =>
    Object.entries(src.view().pools).map(([pool, counts]) => [{ pool }, counts.total[pick]]);
  counter('bluegreen_upstream_attempts_total', 'Upstream attempts, by the pool they went to (a retried request makes two).', ['pool'], poolTotals('attempts'));
  counter('bluegreen_upstream_failed_attempts_total', 'Upstream attempts that failed (5xx, timeout, refused), by pool.', ['pool'], poolTotals('failed'));
  const poolIs = (pick: 'servingPool' | 'primaryPool') => (): [Labels, number][] => {
    const current = src.view()[pick];
    return pools().filter((p) => p !== 'none').map((pool) => [{ pool }, pool === current ? 1 : 0]);
  };
  gauge('bluegreen_serving_pool', '1 for the pool that answered the latest request, 0 for the other.', ['pool'], poolIs('servingPool'));
  gauge('bluegreen_primary_pool', "1 for Nginx's primary pool, 0 for the backup.", ['pool'], poolIs('primaryPool'));
  gauge('bluegreen_maintenance_mode', '1 while maintenance mode holds alerts back.', [], () => [[{}, src.view().maintenance ? 1 : 0]]);

  // Incidents and what Slack was told.
  gauge('bluegreen_incidents_open', 'Incidents open, by kind.', ['kind'], () => {
    const open = src.view().incidents;
    return INCIDENT_KINDS.map((kind) => [{ kind }, open.filter((i) => i.kind === kind).length]);
  });
  const byKind = <K extends Decision | Outcome>(words: readonly K[], label: 'decision' | 'outcome') => (): [Labels, number][] =>
    Object.entries(src.alerts()).flatMap(([kind, counts]) => words.map((w): [Labels, number] => [{ kind, [label]: w }, counts[w]]));
  counter('bluegreen_watcher_alert_decisions_total', 'Messages the policy decided about, by alert kind and decision.', ['kind', 'decision'], byKind(DECISIONS, 'decision'));
  counter('bluegreen_watcher_alert_outcomes_total', 'Sent messages whose delivery ended, by alert kind and outcome.', ['kind', 'outcome'], byKind(OUTCOMES, 'outcome'));
  gauge('bluegreen_watcher_alerts_queued', 'Messages waiting for delivery.', [], () => [[{}, src.view().queued]]);
  for (const [integration, what] of Object.entries(INTEGRATIONS) as [Integration, string][]) {
    const counts = () => src.delivery[integration];
    histogram(`bluegreen_watcher_${integration}_request_duration_seconds`, `Each POST to ${what}, answered or not.`, () => [
      { labels: {}, histogram: counts().requests },
    ]);
    counter(`bluegreen_watcher_${integration}_request_failures_total`, `POSTs to ${what} that failed, by reason.`, ['reason'], () =>
      DELIVERY_FAILURES.map((reason) => [{ reason }, counts().failures[reason]]),
    );
  }

  // The watcher's own health, as log exporters report theirs.
  const lines = (pick: 'read' | 'malformed' | 'droppedTooLong') => (): [Labels, number][] => [[{}, src.lines()[pick]]];
  counter('bluegreen_watcher_lines_read_total', 'Access-log lines read.', [], lines('read'));
  counter('bluegreen_watcher_lines_malformed_total', 'Lines skipped as malformed.', [], lines('malformed'));
  counter('bluegreen_watcher_lines_too_long_total', 'Lines dropped for exceeding MAX_LINE_BYTES.', [], lines('droppedTooLong'));
  counter('bluegreen_watcher_log_rotations_total', 'Rotations of the access log followed.', [], () => [[{}, src.source().rotations]]);
  counter('bluegreen_watcher_log_truncations_total', 'Truncations of the access log seen (read again from its start).', [], () => [[{}, src.source().truncations]]);
  gauge('bluegreen_watcher_log_behind_bytes', 'Bytes of the access log not yet read, as of the last look at its size.', [], () => [[{}, src.source().behindBytes]]);
  gauge('bluegreen_watcher_last_line_timestamp_seconds', 'When the last line was read (Unix time); 0 before the first.', [], () => [[{}, src.source().lastLineAt / 1000]]);
  gauge('bluegreen_watcher_log_following', '1 while the access log is open and followed, 0 while waiting for it.', [], () => [
    [{}, src.source().state === 'following' ? 1 : 0],
  ]);

  const handler: Handler = async (_req, res) => {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
    res.end(text);
  };
  return { registry, handler };
}
