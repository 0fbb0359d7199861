// monitoring/ as Prometheus will load it: the config and rules pass promtool's
// checks, and the rules fire (and stay quiet) on the series the watcher
// exports (monitoring/tests/rules.test.yml). promtool runs in the Prometheus
// image of the monitoring profile, so these need Docker.
import { describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from '../e2e/support/docker.js';
import { promtool, promtoolCheckMetrics } from './promtool.js';

const enabled = requireDockerOrSkip('monitoring promtool checks');
// A container start each: seconds, more on a busy engine.
const TIMEOUT = 90_000;

describe.skipIf(!enabled)('monitoring: Prometheus config and rules', () => {
  it('the config is valid, with its rule file', { timeout: TIMEOUT }, async () => {
    const r = await promtool(['check', 'config', '/etc/prometheus/prometheus.yml']);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.ok, r.output).toBe(true);
  });

  it('the rules are valid, with every lint on', { timeout: TIMEOUT }, async () => {
    const r = await promtool(['check', 'rules', '--lint=all', '--lint-fatal', '/etc/prometheus/rules.yml']);
    expect(r.ok, r.output).toBe(true);
  });

  it('the rules fire on a failover, an outage, an error rate, a degraded pool, a failing pool and watcher trouble, and not on healthy traffic', { timeout: TIMEOUT }, async () => {
    const r = await promtool(['test', 'rules', '/etc/prometheus/tests/rules.test.yml']);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.ok, r.output).toBe(true);
  });
});

describe.skipIf(!enabled)('monitoring: promtoolCheckMetrics', () => {
  it('passes a well-formed exposition', { timeout: TIMEOUT }, async () => {
    const r = await promtoolCheckMetrics(
      [
        '# HELP bluegreen_requests_total Requests by the pool that answered and status class.',
        '# TYPE bluegreen_requests_total counter',
        'bluegreen_requests_total{pool="blue",class="2xx"} 42',
        '# HELP bluegreen_maintenance_mode 1 while every alert is held back.',
        '# TYPE bluegreen_maintenance_mode gauge',
        'bluegreen_maintenance_mode 0',
        '',
      ].join('\n'),
    );
    expect(r.ok, r.output).toBe(true);
  });

  it('fails a counter named without _total, naming it', { timeout: TIMEOUT }, async () => {
    const r = await promtoolCheckMetrics(
      ['# HELP bluegreen_requests Requests.', '# TYPE bluegreen_requests counter', 'bluegreen_requests{pool="blue"} 1', ''].join('\n'),
    );
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/bluegreen_requests counter metrics should have "_total" suffix/);
  });

  it('fails text that is not the exposition format', { timeout: TIMEOUT }, async () => {
    const r = await promtoolCheckMetrics('bluegreen_requests_total{pool=blue} 1\n');
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/pars/i);
  });
});
