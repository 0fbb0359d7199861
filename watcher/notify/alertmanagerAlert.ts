// A condition (detect/view.ts) as an Alertmanager alert (API v2
// PostableAlert), and the silence of `make maintenance-on`. Pure: no clock,
// no I/O; every time is wall-clock epoch ms, converted by the caller at the
// moment of sending.
//
// The labels name the incident and the watcher that reports it (`instance`):
// one watcher's all-clear is its own alert's, so it cannot resolve what
// another watcher still sees failing. The route groups by the incident's
// labels (monitoring/alertmanager.yml), so the watchers' alerts make one
// message, resolved when the last of them is. `startsAt` is when the
// condition opened; `endsAt` is a few resend intervals ahead while it is open
// (Alertmanager resolves an alert nobody re-sends) and when it resolved once
// it has.
//
// An incident that opened and resolved while Alertmanager could not be
// reached is never posted under its live labels as firing: that could reopen
// an alert another watcher has resolved (a stale "Failover detected" after
// the all-clear). It is told after the fact as an alert of its own
// (catalogue.ts's PAST_INCIDENT_ALERT), worded as past, which no live alert shares.
import type { ConditionView } from '../detect/index.js';
import type { IncidentNotification } from '../policy/index.js';
import { alertName, PAST_INCIDENT_ALERT, severity, TEST_ALERT } from '../catalogue.js';
import { runbookLink } from './slackMessage.js';
import { afterTheFact, headline, INCIDENT_NAMES, state } from './wording.js';

/** POST /api/v2/alerts takes a list of these. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** The label that ties an alert to its stack: the silence matches on it. */
export const STACK_LABEL = 'stack';
/** The label that names the reporting watcher; the route's group_by leaves it out. */
export const INSTANCE_LABEL = 'instance';
/** The labels the route groups by: the incident's, never the watcher's. */
export const GROUP_BY = ['alertname', 'kind', STACK_LABEL, 'pool'] as const;

/** What identifies the incident, and which watcher reports it. */
export function alertLabels(view: Pick<ConditionView, 'kind' | 'pool'>, stack: string, instance: string): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: alertName(view.kind),
    kind: view.kind,
    [STACK_LABEL]: stack,
    severity: severity(view.kind),
    [INSTANCE_LABEL]: instance,
  };
  // The pool a pool's condition (a failover) is about: one incident per pool, as the detector keys it.
  if (view.pool !== undefined) labels.pool = view.pool;
  return labels;
}

/** One string per label set, stable whatever the key order: Alertmanager's identity of an alert. */
export function fingerprint(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

export interface AlertOptions {
  stack: string;
  instance: string;
  /** When the incident opened (wall clock). */
  openedAt: number;
  /** Wall clock: how long an open alert lasts unless re-sent, or when a resolved one resolved. */
  endsAt: number;
  runbookUrl?: string | undefined;
}

/**
 * The alert for `view`: firing while the view is active, resolved once it is
 * not. Both carry `resolved_summary`, the title Alertmanager's template shows
 * for a resolved group: the watcher's all-clear once it resolved, and while it
 * fires what an expiry means (nobody re-sent it), never the firing headline;
 * and `partial_summary`, the title of a group some of whose watchers resolved.
 */
export function toAlertmanagerAlert(view: ConditionView, opts: AlertOptions): AlertmanagerAlert {
  const notification: IncidentNotification = {
    kind: view.kind,
    message: view.active ? 'opened' : 'resolved',
    incidentId: `${view.key}@${opts.openedAt}`,
    openedAt: opts.openedAt,
    at: view.at,
    condition: view,
    deferred: 0,
  };
  // The Slack message's headline: the same words whichever way an alert arrives.
  const summary = headline(notification);
  const expired = `${INCIDENT_NAMES[view.kind]}${view.pool === undefined ? '' : ` (${view.pool})`} no longer reported: its watcher stopped re-sending it; check make status`;
  const annotations: Record<string, string> = {
    summary,
    description: view.active ? `${capitalise(state(view))}.` : summary,
    resolved_summary: view.active ? expired : summary,
    // A group of which some watchers' alerts resolved and others' still fire.
    partial_summary: `Still open for some watchers: ${summary}`,
    // How it ends if it ends as posted now: an open one only by expiring (its watcher stopped re-sending it).
    // The title prefers that word, so a group that ends with one watcher's all-clear and another's silence
    // never says "Recovered".
    resolved_by: view.active ? 'expiry' : 'watcher',
    incident_id: notification.incidentId,
  };
  if (opts.runbookUrl !== undefined) annotations.runbook_url = runbookLink(opts.runbookUrl, view.kind);
  return {
    labels: alertLabels(view, opts.stack, opts.instance),
    annotations,
    startsAt: new Date(opts.openedAt).toISOString(),
    endsAt: new Date(opts.endsAt).toISOString(),
  };
}

/**
 * An incident that opened and resolved unseen by Alertmanager, told after the
 * fact: its own alert name, the opening time as a label (each past incident
 * its own alert), the same words firing or resolved. Firing until `endsAt`,
 * so Alertmanager notifies it once (its group_wait is shorter), then resolved.
 */
export function pastAlert(view: ConditionView, opts: AlertOptions & { resolvedAt: number; unseen: string }): AlertmanagerAlert {
  const live = toAlertmanagerAlert({ ...view, active: false }, opts);
  const told = afterTheFact(view, opts.openedAt, opts.resolvedAt, opts.unseen);
  return {
    labels: { ...live.labels, alertname: PAST_INCIDENT_ALERT.name, severity: PAST_INCIDENT_ALERT.severity, opened: new Date(opts.openedAt).toISOString() },
    annotations: { ...live.annotations, summary: told, resolved_summary: told, partial_summary: told, description: `${told}. ${live.annotations.summary}.` },
    startsAt: live.startsAt,
    endsAt: new Date(opts.endsAt).toISOString(),
  };
}

/** How long `make test-alert`'s alert fires: past any sane group_wait, then it resolves by itself. */
export const TEST_ALERT_MS = 5 * 60_000;

/** `make test-alert` through Alertmanager: routed like every alert of the stack, with the Slack test message's words. */
export function testAlertmanagerAlert(opts: { stack: string; instance: string; now: number; who: string }): AlertmanagerAlert {
  const summary = 'Test alert from the bluegreen watcher: no action needed';
  return {
    labels: { alertname: TEST_ALERT.name, severity: TEST_ALERT.severity, [STACK_LABEL]: opts.stack, [INSTANCE_LABEL]: opts.instance },
    annotations: {
      summary,
      resolved_summary: `${summary} (over)`,
      partial_summary: summary,
      description: `Sent by ${opts.who}: alerts from this stack reach this channel.`,
    },
    startsAt: new Date(opts.now).toISOString(),
    endsAt: new Date(opts.now + TEST_ALERT_MS).toISOString(),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** POST /api/v2/silences: mutes every alert of `stack`, from now for `durationMs`. */
export interface PostableSilence {
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export function maintenanceSilence(opts: { stack: string; now: number; durationMs: number; createdBy: string }): PostableSilence {
  return {
    matchers: [{ name: STACK_LABEL, value: opts.stack, isRegex: false, isEqual: true }],
    startsAt: new Date(opts.now).toISOString(),
    endsAt: new Date(opts.now + opts.durationMs).toISOString(),
    createdBy: opts.createdBy,
    comment: `make maintenance-on (bluegreen stack ${opts.stack}); make maintenance-off expires it`,
  };
}
