// What each message says, in words on-call reads at a glance. Headlines hold
// only pool names and release ids (validated), numbers and durations: nothing
// a client or an operator wrote reaches them, so they are safe as Slack's
// notification text.
import { FLAP_WINDOW_MS, type ConditionView } from '../detect/index.js';
import type { IncidentNotification, MaintenanceNotification, Notification } from '../policy/index.js';
import type { HistoryEntry } from '../history.js';
import { LEVEL_RANK } from '../vocabulary.js';

export function headline(n: Notification): string {
  switch (n.kind) {
    case 'planned_switch':
      return `Planned switch: pool changed ${n.from} → ${n.to}`;
    case 'maintenance_ended':
      return maintenanceHeadline(n);
    case 'release':
      return releaseHeadline(n.entry);
    case 'watcher_restarted':
      return `Watcher restarted after an unclean stop: down ${duration(n.at - n.downSince)}, from ${clockTime(n.downSince)} to ${clockTime(n.at)} UTC`;
    case 'past_incident':
      return afterTheFact(n.condition, n.openedAt, n.resolvedAt, UNSEEN.watcherDown);
    default:
      return incidentHeadline(n);
  }
}

function incidentHeadline(n: IncidentNotification): string {
  const c = n.condition;
  const name = INCIDENT_NAMES[c.kind];
  switch (n.message) {
    case 'opened':
      return opening(c);
    case 'resolved':
      return resolution(c);
    case 'reminder':
      return `${name} still open after ${duration(n.at - n.openedAt)}: ${state(c)}`;
    case 'updated':
      return `${name} ${direction(n)}: ${state(c)}`;
  }
}

/** Why an incident is told after the fact: nobody could be told while it lasted. */
export const UNSEEN = {
  watcherDown: 'while the watcher was down',
  alertmanagerDown: 'while Alertmanager was out of reach',
} as const;

/**
 * An incident told once it was over, because nobody could be told while it
 * lasted (`unseen`: why): worded as past, with its times, never as a page.
 */
export function afterTheFact(c: Pick<ConditionView, 'kind' | 'pool'>, openedAt: number, resolvedAt: number, unseen: string): string {
  return `After the fact: ${INCIDENT_NAMES[c.kind]}${c.pool === undefined ? '' : ` of ${c.pool}`} from ${clockTime(openedAt)} to ${clockTime(resolvedAt)} UTC, ${unseen}; over since then`;
}

export const INCIDENT_NAMES: Record<ConditionView['kind'], string> = {
  failover: 'Failover',
  outage: 'Outage',
  error_rate: 'High error rate',
  degraded: 'Degraded pool',
};

function opening(c: ConditionView): string {
  switch (c.kind) {
    case 'failover':
      return `Failover detected: pool changed ${c.pool} → ${backupOf(c)}`;
    case 'outage':
      return 'Outage: no pool could answer; clients get 503 errors';
    case 'error_rate':
      return `High error rate: ${rate(c)}`;
    case 'degraded':
      return `Degraded pool: ${failingReplicas(c)}, the other ${c.pool} replicas serve (no failover)`;
  }
}

function resolution(c: ConditionView): string {
  const steady = `steady for ${duration(c.holdMs)}`;
  switch (c.kind) {
    case 'failover':
      return c.pool === c.primaryPool
        ? `Recovered: pool changed ${backupOf(c)} → ${c.pool}, ${steady}`
        : `Failover closed: ${c.pool} is no longer the primary (planned switch to ${c.primaryPool})`;
    case 'outage':
      return `Outage resolved: requests succeed again, ${steady}`;
    case 'error_rate':
      return `Error rate resolved: ${percent(c.window.errorRate)}% of the last ${c.window.count} requests (threshold ${percent(c.thresholdPercent)}%)`;
    case 'degraded':
      return c.pool === c.primaryPool
        ? `Degraded pool resolved: no ${c.pool} replica has failed, ${steady}`
        : `Degraded pool closed: ${c.pool} is no longer the primary (planned switch to ${c.primaryPool})`;
  }
}

/** The condition now, in a phrase. */
export function state(c: ConditionView): string {
  const steadyFor = `for ${duration(c.steadyForMs ?? 0)}, all-clear after ${duration(c.holdMs)} steady`;
  switch (c.kind) {
    case 'failover':
      if (c.level === 'recovering') return `${c.pool} serving again ${steadyFor}`;
      if (c.level === 'flapping') {
        return `${c.pool} flapping (${c.recentFlips ?? 0} pool changes in ${duration(FLAP_WINDOW_MS)}), ${c.servingPool} serving now`;
      }
      return `${c.pool} failing, ${backupOf(c)} serving`;
    case 'outage':
      return c.level === 'recovering' ? `requests succeed again ${steadyFor}` : 'no pool could answer';
    case 'error_rate':
      return `${rate(c)}, ${c.level === 'client_visible' ? 'clients see errors' : 'retries hide them from clients'}`;
    case 'degraded':
      return c.level === 'recovering' ? `no ${c.pool} replica failing ${steadyFor}` : `${failingReplicas(c)}, the other ${c.pool} replicas serve`;
  }
}

function direction(n: IncidentNotification): string {
  const before = n.before;
  if (before === undefined || before.lost) return 'update';
  const delta = LEVEL_RANK[n.condition.level] - LEVEL_RANK[before.level];
  return delta > 0 ? 'worse' : delta < 0 ? 'better' : 'ongoing';
}

function maintenanceHeadline(n: MaintenanceNotification): string {
  const open = n.open.length;
  return open === 0 ? 'Maintenance ended: nothing is open' : `Maintenance ended: ${open} incident${open === 1 ? '' : 's'} open`;
}

// A release is news, not a page: nothing here may read like a failover.
// Parts whose values the entry lacks are left out.
function releaseHeadline(e: HistoryEntry): string {
  if (e.action === 'rollback' && e.outcome === 'ok') {
    const pools = when(e.pool, (to) => `: traffic ${e.fromPool === undefined ? 'on' : `moved ${e.fromPool} →`} ${to}`);
    return `Rolled back${pools}${when(fromTo(e.fromRelease, e.release), (r) => ` (${r})`)}`;
  }
  if (e.action !== 'release') return `${sentence(e.action)}: ${e.outcome.replace(/_/g, ' ')}`;
  const release = `Release${when(e.release, (r) => ` ${r}`)}`;
  const from = e.fromPool;
  switch (e.outcome) {
    case 'started':
      return (
        `${release} started${when(e.pool, (p) => ` on ${p} (idle)`)}` +
        when(from, (f) => `; ${f} keeps serving${when(e.fromRelease, (r) => ` ${r}`)}`)
      );
    case 'blocked':
      return `${release} blocked before promotion${when(from, (f) => `: traffic stays on ${f}`)}`;
    case 'promoted':
      return (
        `${release} promoted${when(e.pool, (p) => `: ${p} serves it`)}` +
        when(from, (f) => `, ${f} keeps ${e.fromRelease ?? 'the previous release'} as warm backup`)
      );
    case 'rolled_back':
      return `${release} rolled back automatically${when(from, (f) => `: traffic back on ${f}${when(e.fromRelease, (r) => ` (${r})`)}`)}`;
    case 'interrupted':
      return `${release} interrupted${when(from, (f) => `: traffic on ${f}`)}`;
    case 'ok':
      return `${release} finished${when(e.pool, (p) => `: ${p} serves it`)}`;
    case 'failed':
      return `${release} failed${when(e.pool, (p) => ` on ${p}`)}`;
    case 'refused':
      return `${release} refused: nothing changed`;
  }
}

function when(value: string | undefined, phrase: (value: string) => string): string {
  return value === undefined ? '' : phrase(value);
}

/** "blue → green"; only the target when where it came from is not known. */
export function fromTo(from: string | undefined, to: string | undefined): string | undefined {
  if (from === undefined) return to;
  return `${from} → ${to ?? '?'}`;
}

/** chaos_start → Chaos start */
function sentence(word: string): string {
  const words = word.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One line per incident for the maintenance summary. */
export function summaryLines(n: MaintenanceNotification): string[] {
  const lines = n.open.map((c) => `Open: ${INCIDENT_NAMES[c.kind]}: ${state(c)} (since ${duration(n.at - c.since)})`);
  for (const c of n.resolved) lines.push(`Resolved during maintenance: ${INCIDENT_NAMES[c.kind]}`);
  if (n.quiet > 0) lines.push(`${n.quiet} more opened and resolved during maintenance`);
  return lines;
}

/**
 * What happened since the last message, or undefined for a first one. An
 * all-clear counts no failures, only the changes the cooldown held back, if
 * any.
 */
export function sinceLast(n: IncidentNotification): string | undefined {
  const before = n.before;
  if (before === undefined) return undefined;
  const c = n.condition;
  const parts: string[] = [];
  if (n.message !== 'resolved') {
    parts.push(count(Math.max(0, c.failures - before.failures), ...FAILURES[c.kind]));
    if (c.kind === 'failover') parts.push(count(Math.max(0, (c.flips ?? 0) - before.flips), 'pool change', 'pool changes'));
  }
  if (n.deferred > 0) parts.push(`${count(n.deferred, 'change', 'changes')} held back by the cooldown`);
  if (parts.length === 0) return undefined;
  return `Since the last message (${duration(n.at - before.at)} ago): ${parts.join(', ')}`;
}

const FAILURES: Record<ConditionView['kind'], [one: string, many: string]> = {
  failover: ['failed attempt on the pool', 'failed attempts on the pool'],
  outage: ['request no pool could answer', 'requests no pool could answer'],
  error_rate: ['request with errors', 'requests with errors'],
  degraded: ['failed attempt on a replica', 'failed attempts on replicas'],
};

// Addresses are Nginx's own upstream_addr values, checked to be IP:port
// (detect/conditions.ts), so they may stand in a headline.
const HEADLINE_REPLICAS = 3;

/** "blue replica 172.18.0.5:3000 failing", or "blue replicas a, b and 2 more failing". */
function failingReplicas(c: ConditionView): string {
  const addrs = (c.replicas ?? []).map((r) => r.addr);
  const shown = addrs.slice(0, HEADLINE_REPLICAS).join(', ');
  const more = addrs.length > HEADLINE_REPLICAS ? ` and ${addrs.length - HEADLINE_REPLICAS} more` : '';
  return `${c.pool} replica${addrs.length === 1 ? '' : 's'} ${shown || 'unknown'}${more} failing`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function backupOf(c: ConditionView): string {
  return c.servingPool !== c.pool ? c.servingPool : c.pool === 'blue' ? 'green' : 'blue';
}

function rate(c: ConditionView): string {
  return `${percent(c.window.errorRate)}% of the last ${c.window.count} requests failed (threshold ${percent(c.thresholdPercent)}%)`;
}

/** At most one decimal, and none when it would be `.0`: 7.5, 2, 0.5. */
export function percent(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** 45 s, 4 min 12 s, 2 h 5 min. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${min === 0 ? '' : ` ${min} min`}`;
}

/** HH:MM:SS in UTC: the date is in the message's fields. */
export function clockTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
