// The `status` event from the pipeline's view: each pool's role, health and
// release, and the open incidents with their pool and level.
import { describe, expect, it } from 'vitest';
import type { PoolCounts } from '../../../watcher/detect/index.js';
import type { RecentAlert } from '../../../watcher/operator/stats.js';
import { pageStatus, type PageStatusInput } from '../../../watcher/page/index.js';
import type { Incident } from '../../../watcher/policy/index.js';
import type { HistoryEntry } from '../../../watcher/history.js';

const NOW = 1_700_000_000_000;

const counts = (failed: number, attempts: number, total: number): PoolCounts => ({
  failed,
  attempts,
  total: { attempts: total, failed },
});

const incident = (key: string, extra: Partial<Incident> = {}): Incident => ({
  id: `inc-${key}`,
  key,
  kind: key.split(':')[0] as Incident['kind'],
  openedAt: NOW - 60_000,
  deferred: 0,
  ...extra,
});

function input(over: Partial<PageStatusInput['view']> = {}, rest: Partial<PageStatusInput> = {}): PageStatusInput {
  return {
    view: {
      servingPool: 'blue',
      primaryPool: 'blue',
      maintenance: false,
      pools: { blue: counts(0, 100, 5000), green: counts(0, 0, 0) },
      incidents: [],
      ...over,
    },
    releases: { blue: 'v1.2.3', green: undefined },
    recentAlerts: [],
    history: [],
    delivery: 'hooks.slack.com',
    now: NOW,
    ...rest,
  };
}

describe('pageStatus', () => {
  it('describes a quiet stack: blue primary and serving, green idle', () => {
    expect(pageStatus(input())).toEqual({
      at: NOW,
      servingPool: 'blue',
      primaryPool: 'blue',
      maintenance: false,
      delivery: 'hooks.slack.com',
      pools: [
        { pool: 'blue', primary: true, serving: true, health: 'ok', release: 'v1.2.3', failed: 0, attempts: 100 },
        { pool: 'green', primary: false, serving: false, health: 'idle', failed: 0, attempts: 0 },
      ],
      incidents: [],
      recentAlerts: [],
      history: [],
    });
  });

  it('marks the pool of an open failover as failing, with its pool and the level Slack was told', () => {
    const told = { active: true, level: 'failing' as const, failures: 3, flips: 1, at: NOW - 50_000 };
    const status = pageStatus(
      input({
        servingPool: 'green',
        pools: { blue: counts(3, 10, 10), green: counts(0, 40, 40) },
        incidents: [incident('failover:blue', { told }), incident('outage')],
      }),
    );
    expect(status.pools.map(({ pool, serving, primary, health }) => ({ pool, serving, primary, health }))).toEqual([
      { pool: 'blue', serving: false, primary: true, health: 'failing' },
      { pool: 'green', serving: true, primary: false, health: 'ok' },
    ]);
    expect(status.pools[0]).toMatchObject({ failed: 3, attempts: 10 });
    expect(status.incidents).toEqual([
      { id: 'inc-failover:blue', kind: 'failover', key: 'failover:blue', pool: 'blue', level: 'failing', openedAt: NOW - 60_000 },
      // Not told yet: no level; not a failover: no pool.
      { id: 'inc-outage', kind: 'outage', key: 'outage', openedAt: NOW - 60_000 },
    ]);
  });

  it('an outage or error-rate incident fails no pool by itself', () => {
    const status = pageStatus(input({ incidents: [incident('outage'), incident('error_rate')] }));
    expect(status.pools.map((p) => p.health)).toEqual(['ok', 'idle']);
  });

  it('names the pool of a degraded pool without marking its card failing: its other replicas serve', () => {
    const status = pageStatus(input({ incidents: [incident('degraded:blue')] }));
    expect(status.incidents).toEqual([{ id: 'inc-degraded:blue', kind: 'degraded', key: 'degraded:blue', pool: 'blue', openedAt: NOW - 60_000 }]);
    expect(status.pools.map((p) => p.health)).toEqual(['ok', 'idle']);
  });

  it("links an incident to its Slack message when the bot-token mode knows it, and only to an https one", () => {
    const urls: Record<string, string> = { 'inc-outage': 'https://acme.slack.com/archives/C1/p1700000000000001', 'inc-error_rate': 'javascript:alert(1)' };
    const status = pageStatus(input({ incidents: [incident('outage'), incident('error_rate'), incident('failover:blue')] }, { slackUrl: (id) => urls[id] }));
    expect(status.incidents.map((i) => i.slackUrl)).toEqual([urls['inc-outage'], undefined, undefined]);
  });

  it('gives a card to the serving and primary pools even before the detector counted them', () => {
    const status = pageStatus(input({ pools: {} }));
    expect(status.pools).toEqual([
      { pool: 'blue', primary: true, serving: true, health: 'idle', release: 'v1.2.3', failed: 0, attempts: 0 },
    ]);
  });

  it('calls idle only a pool never attempted since start', () => {
    const status = pageStatus(input({ pools: { blue: counts(0, 100, 100), green: counts(0, 0, 7) } }));
    expect(status.pools[1]!.health).toBe('ok');
  });

  it('passes the recent alerts, history, maintenance and delivery through', () => {
    const alert: RecentAlert = {
      kind: 'failover',
      message: 'opened',
      text: 'Failover detected',
      raisedAt: new Date(NOW).toISOString(),
      decision: 'send',
      outcome: 'delivered',
      settledAt: new Date(NOW + 300).toISOString(),
    };
    const entry: HistoryEntry = { time: '2026-01-01T00:00:00Z', action: 'release', outcome: 'started', who: 'alice@host' };
    const status = pageStatus(input({ maintenance: true }, { recentAlerts: [alert], history: [entry], delivery: 'dry-run' }));
    expect(status).toMatchObject({ maintenance: true, delivery: 'dry-run', recentAlerts: [alert], history: [entry] });
  });
});
