// A condition (detect/view.ts) as an Alertmanager alert (API v2
// PostableAlert), and the silence of `make maintenance-on`. Pure: no clock,
// no I/O.
//
// The labels name the incident, never the watcher: every watcher of one stack
// (one per Nginx instance) makes the same labels for the same condition, so
// Alertmanager keeps one alert however many report it. `startsAt` is when
// the condition opened; `endsAt` is a few resend intervals ahead while it is
// open (Alertmanager resolves an alert nobody re-sends) and when it resolved
// once it has.
import type { ConditionView } from '../detect/index.js';
import type { IncidentNotification } from '../policy/index.js';
import { INCIDENT_KINDS, type IncidentKind } from '../vocabulary.js';
import { runbookLink } from './slackMessage.js';
import { headline, state } from './wording.js';

/** POST /api/v2/alerts takes a list of these. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** The alert names of monitoring/rules.yml, so routes and inhibitions written for those match these. */
export const ALERT_NAMES: Record<IncidentKind, string> = Object.fromEntries(
  INCIDENT_KINDS.map((kind) => [kind, `BlueGreen${kind.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}`]),
) as Record<IncidentKind, string>;

/** monitoring/rules.yml's severities: page = act now, ticket = act today (every other kind pages). */
const TICKET_KINDS: ReadonlySet<IncidentKind> = new Set<IncidentKind>(['error_rate']);

/** The label that ties an alert to its stack: the silence matches on it. */
export const STACK_LABEL = 'stack';

/** What identifies the incident: the same from every watcher of the stack. */
export function alertLabels(view: Pick<ConditionView, 'kind' | 'pool'>, stack: string): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: ALERT_NAMES[view.kind],
    kind: view.kind,
    [STACK_LABEL]: stack,
    severity: TICKET_KINDS.has(view.kind) ? 'ticket' : 'page',
  };
  // The pool a pool's condition (a failover) is about: one incident per pool, as the detector keys it.
  if (view.pool !== undefined) labels.pool = view.pool;
  return labels;
}

/** One string per label set, stable whatever the key order: Alertmanager's identity of an alert. */
export function fingerprint(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

export interface AlertTiming {
  /** Epoch ms: the condition's end once resolved, or how long an open alert lasts unless re-sent. */
  endsAt: number;
}

/**
 * The alert for `view`: firing while the view is active, resolved (endsAt =
 * when it resolved) once it is not. `openedAt` is when the incident opened
 * (the active view's `since`; an inactive view's `since` is its resolution).
 */
export function toAlertmanagerAlert(
  view: ConditionView,
  opts: { stack: string; openedAt: number; endsAt: number; runbookUrl?: string | undefined },
): AlertmanagerAlert {
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
  const annotations: Record<string, string> = {
    summary,
    description: view.active ? `${capitalise(state(view))}.` : summary,
    incident_id: notification.incidentId,
  };
  if (opts.runbookUrl !== undefined) annotations.runbook_url = runbookLink(opts.runbookUrl, view.kind);
  return {
    labels: alertLabels(view, opts.stack),
    annotations,
    startsAt: new Date(opts.openedAt).toISOString(),
    endsAt: new Date(view.active ? opts.endsAt : view.since).toISOString(),
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
