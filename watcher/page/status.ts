// The `status` event, assembled from what the watcher already keeps: the
// pipeline's view, the detector's releases, /stats' recent alerts and the
// audit trail. Pure, so the page's meaning is tested without a browser.
import type { PipelineView, RecentAlert } from '../operator/stats.js';
import type { HistoryEntry } from '../history.js';
import type { OpenIncident, PageStatus, PoolStatus } from './model.js';
import { incidentKeyPool } from '../vocabulary.js';

export interface PageStatusInput {
  view: Pick<PipelineView, 'servingPool' | 'primaryPool' | 'maintenance' | 'pools' | 'incidents'>;
  /** Each pool's release as it last reported it. */
  releases: Record<string, string | undefined>;
  recentAlerts: RecentAlert[];
  history: HistoryEntry[];
  /** `dry-run`, or the webhook's host. */
  delivery: string;
  now: number;
  /** An incident's Slack message, when the bot-token mode knows it. */
  slackUrl?(incidentId: string): string | undefined;
}

export function pageStatus(input: PageStatusInput): PageStatus {
  const { view, releases } = input;
  const incidents = view.incidents.map((incident): OpenIncident => {
    const open: OpenIncident = { id: incident.id, kind: incident.kind, key: incident.key, openedAt: incident.openedAt };
    const pool = incidentKeyPool(incident.key);
    if (pool !== undefined) open.pool = pool;
    if (incident.told !== undefined) open.level = incident.told.level;
    const url = input.slackUrl?.(incident.id);
    if (url !== undefined && url.startsWith('https://')) open.slackUrl = url;
    return open;
  });
  // A degraded pool still serves through its other replicas: only a failover marks its card failing.
  const failing = new Set(incidents.flatMap((incident) => (incident.kind === 'failover' ? (incident.pool ?? []) : [])));
  // The serving and primary pools get a card even before any attempt counted them.
  const names = [...new Set([...Object.keys(view.pools), view.primaryPool, view.servingPool])];
  const pools = names.map((pool): PoolStatus => {
    const counts = view.pools[pool];
    const status: PoolStatus = {
      pool,
      primary: pool === view.primaryPool,
      serving: pool === view.servingPool,
      health: failing.has(pool) ? 'failing' : (counts?.total.attempts ?? 0) === 0 ? 'idle' : 'ok',
      failed: counts?.failed ?? 0,
      attempts: counts?.attempts ?? 0,
    };
    const release = releases[pool];
    if (release !== undefined) status.release = release;
    return status;
  });
  return {
    at: input.now,
    servingPool: view.servingPool,
    primaryPool: view.primaryPool,
    maintenance: view.maintenance,
    delivery: input.delivery,
    pools,
    incidents,
    recentAlerts: input.recentAlerts,
    history: input.history,
  };
}
