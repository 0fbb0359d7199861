// GET /metrics on the real daemon: every family docs/metrics.md lists, with the
// values the lines written imply, in Prometheus's text format.
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { dockerAvailable } from '../../e2e/support/docker.js';
import { promtoolCheckMetrics } from '../../monitoring/promtool.js';
import { accessLine, h, lines, startDaemon, waitForPosts, type Daemon } from './harness.js';

// promtool runs in the Prometheus image: test/monitoring/promtool.test.ts says
// visibly when no engine answers, and fails then under REQUIRE_DOCKER=1.
const docker = dockerAvailable();

/** `name{labels} value` lines → value by `name{labels}`, labels as printed. */
async function scrape(d: Daemon): Promise<{ contentType: string; text: string; values: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${d.port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) values.set(m[1] as string, Number(m[2]));
  }
  return { contentType: res.headers.get('content-type') ?? '', text, values };
}

// A request blue failed and green answered: two attempts, one per pool.
const retried = () =>
  `time=${new Date().toISOString()} rid=r1 method=GET path="/version" status=200 pool="green" release="green-v1" ` +
  `upstream_status="502, 200" upstream_addr="172.18.0.3:3000, 172.18.0.4:3000" request_time=0.015 ` +
  `upstream_response_time="0.010, 0.003" bytes=98\n`;
// Nginx's own answer when no pool could: no upstream attempt at all.
const noPool = () =>
  `time=${new Date().toISOString()} rid=r2 method=GET path="/version" status=503 pool="-" release="-" ` +
  `upstream_status="-" upstream_addr="-" request_time=0.000 upstream_response_time="-" bytes=40\n`;

describe('GET /metrics', () => {
  it('exports traffic by pool, the serving and primary pool, incidents, alerts, Slack requests and the reader', async () => {
    writeFileSync(h.logPath, '');
    const startedAt = Date.now() / 1000;
    const d = await startDaemon();
    // The failover's first POST fails with a 500; the retry delivers it.
    h.receiver.answerNext(500);
    appendFileSync(h.logPath, lines('blue', 5) + retried() + lines('green', 3) + noPool() + 'garbage\n');
    await waitForPosts(1);

    let scraped = await scrape(d);
    await vi.waitFor(async () => {
      scraped = await scrape(d);
      expect(scraped.values.get('bluegreen_watcher_alert_outcomes_total{kind="failover",outcome="delivered"}')).toBe(1);
    });
    const { contentType, text, values } = scraped;
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(Object.fromEntries([...values].filter(([k]) => k.startsWith('bluegreen_requests_total')))).toMatchObject({
      'bluegreen_requests_total{pool="blue",class="2xx"}': 5,
      'bluegreen_requests_total{pool="green",class="2xx"}': 4,
      'bluegreen_requests_total{pool="none",class="5xx"}': 1,
      'bluegreen_requests_total{pool="blue",class="5xx"}': 0,
    });
    expect(values.get('bluegreen_request_duration_seconds_count{pool="blue"}')).toBe(5);
    // 0.004 s is in the (0.0025, 0.005] bucket: below it nothing, from it on all five.
    expect(values.get('bluegreen_request_duration_seconds_bucket{pool="blue",le="0.0025"}')).toBe(0);
    expect(values.get('bluegreen_request_duration_seconds_bucket{pool="blue",le="0.005"}')).toBe(5);
    expect(values.get('bluegreen_request_duration_seconds_bucket{pool="blue",le="+Inf"}')).toBe(5);
    expect(values.get('bluegreen_request_duration_seconds_sum{pool="blue"}')).toBeCloseTo(0.02, 6);
    // Each attempt's time goes to the pool it went to: the failed 0.010 s to blue.
    expect(values.get('bluegreen_upstream_response_duration_seconds_count{pool="blue"}')).toBe(6);
    expect(values.get('bluegreen_upstream_response_duration_seconds_sum{pool="blue"}')).toBeCloseTo(5 * 0.002 + 0.01, 6);
    expect(values.get('bluegreen_upstream_response_duration_seconds_count{pool="green"}')).toBe(4);
    expect(values.get('bluegreen_upstream_attempts_total{pool="blue"}')).toBe(6);
    expect(values.get('bluegreen_upstream_failed_attempts_total{pool="blue"}')).toBe(1);
    expect(values.get('bluegreen_upstream_failed_attempts_total{pool="green"}')).toBe(0);
    expect(values.get('bluegreen_serving_pool{pool="green"}')).toBe(1);
    expect(values.get('bluegreen_serving_pool{pool="blue"}')).toBe(0);
    expect(values.get('bluegreen_primary_pool{pool="blue"}')).toBe(1);
    expect(values.get('bluegreen_incidents_open{kind="failover"}')).toBe(1);
    expect(values.get('bluegreen_watcher_alert_decisions_total{kind="failover",decision="send"}')).toBe(1);
    expect(values.get('bluegreen_watcher_slack_request_failures_total{reason="http_5xx"}')).toBe(1);
    expect(values.get('bluegreen_watcher_slack_request_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(values.get('bluegreen_maintenance_mode')).toBe(0);
    expect(values.get('bluegreen_watcher_lines_read_total')).toBe(11);
    expect(values.get('bluegreen_watcher_lines_malformed_total')).toBe(1);
    expect(values.get('bluegreen_watcher_log_following')).toBe(1);
    expect(values.get('bluegreen_watcher_log_behind_bytes')).toBe(0);
    expect(values.get('bluegreen_watcher_last_line_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(startedAt));
    // prom-client's process metrics come along, but not its sampled event-loop
    // delay, whose timer woke the watcher 100 times a second: the lag measured
    // at each scrape stays.
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).not.toMatch(/^nodejs_eventloop_lag_(?:min|max|mean|stddev|p50|p90|p99)_seconds/m);
    // Bounded labels: never a path, an address or a request id.
    expect(text).not.toMatch(/172\.18\.|\/version|rid=/);
    if (docker) {
      const lint = await promtoolCheckMetrics(text);
      expect(lint.ok, lint.output).toBe(true);
    }
  });

  it('counts a line too long, and a rotation of the log', async () => {
    writeFileSync(h.logPath, '');
    const d = await startDaemon({ MAX_LINE_BYTES: '1024' });
    appendFileSync(h.logPath, `${'x'.repeat(2000)}\n${accessLine('blue')}`);
    await vi.waitFor(async () => {
      const { values } = await scrape(d);
      expect(values.get('bluegreen_watcher_lines_too_long_total')).toBe(1);
      expect(values.get('bluegreen_watcher_lines_read_total')).toBe(1);
    });
    renameSync(h.logPath, `${h.logPath}.1`);
    writeFileSync(h.logPath, accessLine('blue'));
    await vi.waitFor(async () => {
      const { values } = await scrape(d);
      expect(values.get('bluegreen_watcher_log_rotations_total')).toBe(1);
      expect(values.get('bluegreen_watcher_lines_read_total')).toBe(2);
    });
  });
});
