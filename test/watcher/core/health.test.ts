import { describe, expect, it } from 'vitest';
import { HealthCheck, type DeliveryHealth, type HealthInputs } from '../../../watcher/heartbeat/health.js';

const GRACE = 60_000;
const T0 = 1_700_000_000_000;
const LOG = '/var/log/nginx/access.log';

type Source = HealthInputs['source'];
const following: Source = { state: 'following', path: LOG };
const missing: Source = { state: 'waiting', path: LOG };
const denied: Source = { state: 'following', path: LOG, error: 'EACCES: permission denied' };

/** One check at T0 + `at` ms. */
function at(health: HealthCheck, atMs: number, source: Source = following, delivery: DeliveryHealth = {}) {
  return health.check({ now: T0 + atMs, source, delivery });
}

function reasonOf(result: ReturnType<HealthCheck['check']>): string {
  if (result.healthy) throw new Error('expected unhealthy, got healthy');
  return result.reason;
}

describe('health check: the access log', () => {
  it('is healthy when the log is followed and nothing waits', () => {
    const health = new HealthCheck(GRACE);
    expect(at(health, 0)).toEqual({ healthy: true });
    expect(at(health, 10 * GRACE)).toEqual({ healthy: true });
  });

  it('tolerates a missing log within the grace, then names the path and why', () => {
    const health = new HealthCheck(GRACE);
    expect(at(health, 0, missing)).toEqual({ healthy: true });
    expect(at(health, GRACE - 1, missing)).toEqual({ healthy: true });
    const atGrace = reasonOf(at(health, GRACE, missing));
    expect(atGrace).toContain(LOG);
    expect(atGrace).toContain('no such file');
    expect(atGrace).toContain('1 min');
    // Still missing later: still unhealthy, and the time grows from the first check that saw it.
    const later = reasonOf(at(health, GRACE + 30_000, missing));
    expect(later).toContain('1 min 30 s');
  });

  it('measures the grace from the first check that saw the log missing', () => {
    const health = new HealthCheck(GRACE);
    expect(at(health, 0)).toEqual({ healthy: true });
    expect(at(health, 5 * GRACE, missing)).toEqual({ healthy: true });
    expect(at(health, 6 * GRACE - 1, missing)).toEqual({ healthy: true });
    expect(at(health, 6 * GRACE, missing).healthy).toBe(false);
  });

  it('recovers as soon as the log is read again, and the grace restarts from zero', () => {
    const health = new HealthCheck(GRACE);
    at(health, 0, missing);
    expect(at(health, 2 * GRACE, missing).healthy).toBe(false);
    expect(at(health, 2 * GRACE + 1, following)).toEqual({ healthy: true });
    // Missing again: a fresh grace, not the time accumulated before.
    expect(at(health, 2 * GRACE + 2, missing)).toEqual({ healthy: true });
    expect(at(health, 3 * GRACE + 1, missing)).toEqual({ healthy: true });
    const again = reasonOf(at(health, 3 * GRACE + 2, missing));
    expect(again).toContain('1 min');
    expect(again).not.toContain('2 min');
  });

  it('counts a read error like a missing log, with the error text in the reason', () => {
    const health = new HealthCheck(GRACE);
    expect(at(health, 0, denied)).toEqual({ healthy: true });
    expect(at(health, GRACE - 1, denied)).toEqual({ healthy: true });
    const reason = reasonOf(at(health, GRACE, denied));
    expect(reason).toContain(LOG);
    expect(reason).toContain('EACCES: permission denied');
    expect(reason).not.toContain('no such file');
    expect(at(health, GRACE + 1, following)).toEqual({ healthy: true });
  });

  it('keeps one grace when the log goes from missing to unreadable', () => {
    const health = new HealthCheck(GRACE);
    at(health, 0, missing);
    expect(at(health, GRACE / 2, denied)).toEqual({ healthy: true });
    const reason = reasonOf(at(health, GRACE, denied));
    expect(reason).toContain('EACCES: permission denied');
  });
});

describe('health check: delivery', () => {
  it('tolerates an alert waiting less than the grace, then reports the wait', () => {
    const health = new HealthCheck(GRACE);
    expect(at(health, GRACE - 1, following, { waitingSince: T0 })).toEqual({ healthy: true });
    const atGrace = reasonOf(at(health, GRACE, following, { waitingSince: T0 }));
    expect(atGrace).toContain('1 min');
    expect(atGrace).toMatch(/alert/);
    const later = reasonOf(at(health, GRACE + 90_000, following, { waitingSince: T0 }));
    expect(later).toContain('2 min 30 s');
    // Delivered: nothing waits any more.
    expect(at(health, GRACE + 90_001, following, {})).toEqual({ healthy: true });
  });

  it('is unhealthy after a failed delivery until a later one clears it', () => {
    const health = new HealthCheck(GRACE);
    const failedAt = T0 + 5_000;
    const reason = reasonOf(at(health, 6_000, following, { failedAt }));
    expect(reason).toContain(new Date(failedAt).toISOString());
    // No grace for a failure: Slack already gave up on that alert.
    expect(at(health, 6_001, following, { failedAt }).healthy).toBe(false);
    expect(at(health, 10 * GRACE, following, { failedAt }).healthy).toBe(false);
    expect(at(health, 10 * GRACE + 1, following, {})).toEqual({ healthy: true });
  });

  it('reports the log first, then the waiting alert, then the failed one', () => {
    const health = new HealthCheck(GRACE);
    const all: DeliveryHealth = { waitingSince: T0, failedAt: T0 + 1_000 };
    at(health, 0, missing, all);
    const log = reasonOf(at(health, 2 * GRACE, missing, all));
    expect(log).toContain(LOG);
    expect(log).not.toMatch(/waited|Slack did not/);

    const waiting = reasonOf(at(health, 2 * GRACE + 1, following, all));
    expect(waiting).toContain('waited');
    expect(waiting).not.toContain(LOG);

    const failed = reasonOf(at(health, 2 * GRACE + 2, following, { failedAt: T0 + 1_000 }));
    expect(failed).toContain(new Date(T0 + 1_000).toISOString());
  });

  it('reports a failed delivery while the log is missing within its grace', () => {
    const health = new HealthCheck(GRACE);
    const reason = reasonOf(at(health, 0, missing, { failedAt: T0 }));
    expect(reason).not.toContain(LOG);
    expect(reason).toContain(new Date(T0).toISOString());
  });
});

describe('health check: Alertmanager', () => {
  const check = (health: HealthCheck, atMs: number, alertmanagers: HealthInputs['alertmanagers']) =>
    health.check({ now: T0 + atMs, source: following, delivery: {}, alertmanagers });

  it('is unhealthy at once when an Alertmanager refuses the alerts (a 4xx), naming it and its answer', () => {
    const reason = reasonOf(check(new HealthCheck(GRACE), 0, [{ url: 'http://am:9093', rejected: true, lastError: 'HTTP 401: unauthorized' }]));
    expect(reason).toBe('Alertmanager http://am:9093 refuses the alerts: HTTP 401: unauthorized');
  });

  it('tolerates an unreachable Alertmanager within the grace, then reports how long', () => {
    const health = new HealthCheck(GRACE);
    const down = [{ url: 'http://am:9093', failingSince: T0, lastError: 'ECONNREFUSED' }];
    expect(check(health, GRACE - 1, down)).toEqual({ healthy: true });
    expect(reasonOf(check(health, GRACE, down))).toMatch(/^Alertmanager http:\/\/am:9093 unreachable for 1 min: ECONNREFUSED/);
    expect(check(health, GRACE + 1, [{ url: 'http://am:9093' }])).toEqual({ healthy: true });
  });
});
