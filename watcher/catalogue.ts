// The alert catalogue, said once: each alert's name, severity, runbook section
// and meaning, the source of notify/'s Alertmanager labels and runbook links.
// monitoring/rules.yml, monitoring/alertmanager.yml and the docs' tables are
// tied to it by test/docs/catalogue.test.ts, which names any drift.
// A leaf (it imports vocabulary.ts only), so any stage may import it.
import { INCIDENT_KINDS, type AlertKind, type IncidentKind, type NoticeKind } from './vocabulary.js';

/**
 * The two values most Alertmanager setups route on: `critical` pages (act
 * now), `warning` makes a ticket (act today); `info` is news that needs no
 * action (an incident told after it ended).
 */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertEntry {
  /** The `alertname` label, in Alertmanager and in monitoring/rules.yml. */
  name: string;
  severity: Severity;
  /** The section of docs/runbook.md that says what to do: `docs/runbook.md#<anchor>`. */
  anchor: string;
  meaning: string;
}

/**
 * The incidents the watcher opens, each also a rule of monitoring/rules.yml
 * for teams that alert from Prometheus instead.
 */
export const INCIDENT_ALERTS: Readonly<Record<IncidentKind, AlertEntry>> = {
  // Critical although clients are served: the stack has lost its redundancy,
  // and the next failure, of the backup, is an outage. Act while it is cheap.
  failover: {
    name: 'BlueGreenFailover',
    severity: 'critical',
    anchor: 'failover',
    meaning: 'the primary pool is failing and the backup serves: no second pool is left',
  },
  // Clients get 503s.
  outage: {
    name: 'BlueGreenOutage',
    severity: 'critical',
    anchor: 'outage',
    meaning: 'no pool could answer: clients get Nginx 503s',
  },
  // Clients see errors (rules.yml counts only those). When retries hide them
  // instead, a failover or degraded pool is open too and says what to do.
  error_rate: {
    name: 'BlueGreenErrorRate',
    severity: 'critical',
    anchor: 'high-error-rate',
    meaning: 'too many of the last requests failed, seen by clients or hidden by retries',
  },
  // The pool still serves from its other replicas, with less spare capacity:
  // nothing is lost yet, and a failover opens (and pages) if they fail too.
  degraded: {
    name: 'BlueGreenDegraded',
    severity: 'warning',
    anchor: 'degraded-pool',
    meaning: 'replicas of the primary pool fail and its other replicas serve: no failover',
  },
};

/** Alerts only monitoring/rules.yml raises, from the watcher's own series: the watcher cannot report its own absence. */
export const RULE_ONLY_ALERTS: readonly AlertEntry[] = [
  // Retries hide these errors from clients, as in a failover, but the pool still
  // serves most attempts: not yet a lost redundancy.
  {
    name: 'BlueGreenPoolFailing',
    severity: 'warning',
    anchor: 'high-error-rate',
    meaning: 'a pool fails over 2 % of its upstream attempts, hidden from clients by retries',
  },
  // Nothing watches the pools: every other alert is blind too.
  { name: 'BlueGreenWatcherDown', severity: 'critical', anchor: 'watcher-problems', meaning: 'Prometheus cannot scrape the watcher' },
  { name: 'BlueGreenWatcherNotReading', severity: 'critical', anchor: 'watcher-problems', meaning: "the watcher is not following Nginx's access log" },
  // Late, not lost: the watcher retries, its status page and these rules still tell the truth.
  { name: 'BlueGreenSlackFailing', severity: 'warning', anchor: 'watcher-problems', meaning: 'Slack messages are not getting through' },
];

/**
 * An incident that opened and resolved while no Alertmanager could be
 * reached, told after the fact (notify/alertmanagerAlert.ts pastAlert): its
 * own name, so it can never reopen the live alert; over when it is told.
 * The watcher posts it; no rule computes it.
 */
export const PAST_INCIDENT_ALERT: AlertEntry = {
  name: 'BlueGreenPastIncident',
  severity: 'info',
  anchor: 'past-incident',
  meaning: 'an incident that opened and resolved while Alertmanager was out of reach or the watcher was down, told after the fact',
};

/** `make test-alert` through Alertmanager: a marked alert that checks the route to Slack, and resolves by itself. */
export const TEST_ALERT: AlertEntry = {
  name: 'BlueGreenTestAlert',
  severity: 'info',
  anchor: 'watcher-problems',
  meaning: 'make test-alert: alerts from this stack reach this channel',
};

/** Every alert with a name: each is a rule of monitoring/rules.yml. */
export const ALERTS: readonly AlertEntry[] = [...Object.values(INCIDENT_ALERTS), ...RULE_ONLY_ALERTS];

/** Slack-only messages: no alert name or severity, since nothing routes on them, but a runbook section. */
export const NOTICE_ANCHORS: Readonly<Record<NoticeKind, string>> = {
  planned_switch: 'planned-switch',
  maintenance_ended: 'maintenance',
  release: 'releases',
  watcher_restarted: 'watcher-restarted',
  past_incident: 'past-incident',
};

export const alertName = (kind: IncidentKind): string => INCIDENT_ALERTS[kind].name;

export const severity = (kind: IncidentKind): Severity => INCIDENT_ALERTS[kind].severity;

/** The runbook section of any message the watcher sends. */
export function runbookAnchor(kind: AlertKind): string {
  return isIncident(kind) ? INCIDENT_ALERTS[kind].anchor : NOTICE_ANCHORS[kind];
}

const isIncident = (kind: AlertKind): kind is IncidentKind => (INCIDENT_KINDS as readonly AlertKind[]).includes(kind);
