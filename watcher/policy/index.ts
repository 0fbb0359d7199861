// The policy stage: compares each condition with what Slack last heard about
// it and decides what to send, after Alertmanager (group_interval defers and
// then sends the current state; repeat_interval reminds) and PagerDuty (one
// open incident per key, resolved once).
//
//   - An incident's first message goes out at once, and so does any failure
//     after Slack's last word was an all-clear: the latest word must never be
//     an all-clear while something fails.
//   - Later changes wait until ALERT_COOLDOWN_SEC after the incident's last
//     message; then one message says the difference, or nothing is sent if
//     the level is what Slack already heard. A cooldown defers, never drops.
//   - An incident open for ALERT_REMIND_SEC since its last message is
//     announced again.
//   - Maintenance holds every message; when it ends, one summary says what is
//     open and what resolved meanwhile.
import type { ConditionView } from '../detect/index.js';
import { reachedItsSink, type Decision, type IncidentKind, type Level, type Outcome } from '../vocabulary.js';
import type { IncidentNotification, NoticeNotification, Notification, Told } from './notification.js';

export * from './notification.js';

export interface PolicyOptions {
  /** 0: every change is sent at once. */
  cooldownMs: number;
  /** 0: no reminders. */
  remindMs: number;
  restore?: PolicyState;
}

/** One incident per condition key, from its first failure until Slack has heard it resolved. */
export interface Incident {
  id: string;
  key: string;
  kind: IncidentKind;
  openedAt: number;
  told?: Told;
  lastSentAt?: number;
  /** Changes held back since the last message. */
  deferred: number;
  /** The last change reported as deferred or suppressed, so each is reported once. */
  reported?: { active: boolean; level: Level };
}

export interface PolicyState {
  incidents: Incident[];
  /** Maintenance as last seen, so a restart that finds it ended still sends the summary. */
  maintenance: boolean;
  /** Incidents that opened and resolved during this maintenance without a message. */
  quiet: number;
}

export interface PolicyResult {
  decision: Decision;
  notification: Notification;
}

export class NotifyPolicy {
  private readonly incidents = new Map<string, Incident>();
  private maintenance: boolean;
  private quiet: number;

  constructor(private readonly opts: PolicyOptions) {
    for (const name of ['cooldownMs', 'remindMs'] as const) {
      if (!Number.isFinite(opts[name]) || opts[name] < 0) throw new RangeError(`${name} must be a non-negative number, got ${opts[name]}`);
    }
    for (const incident of opts.restore?.incidents ?? []) this.incidents.set(incident.key, { ...incident });
    this.maintenance = opts.restore?.maintenance ?? false;
    this.quiet = opts.restore?.quiet ?? 0;
  }

  /** Called on every change and every tick with the detector's views; returns what to send, defer or suppress now. */
  evaluate(now: number, views: readonly ConditionView[], maintenance: boolean): PolicyResult[] {
    const results: PolicyResult[] = [];
    if (this.maintenance && !maintenance) results.push(this.endMaintenance(now, views));
    this.maintenance = maintenance;
    for (const view of views) {
      const result = this.consider(now, view);
      if (result !== undefined) results.push(result);
    }
    return results;
  }

  /** A planned switch or a release step is news once, at once; maintenance holds it like everything else. */
  notice(notification: NoticeNotification, maintenance: boolean): PolicyResult {
    return { decision: maintenance ? 'suppress' : 'send', notification };
  }

  /** A sent message's delivery ended. */
  settled(notification: Notification, outcome: Outcome): void {
    // The maintenance summary carries the state of every incident it lists: settled for each.
    if (notification.kind === 'maintenance_ended') {
      for (const view of [...notification.open, ...notification.resolved]) {
        const incident = this.incidents.get(view.key);
        if (incident !== undefined) this.settle(incident, notification.at, outcome);
      }
      return;
    }
    // Other notices carry no state.
    if (notification.message === 'notice') return;
    const incident = this.incidents.get(notification.condition.key);
    if (incident === undefined || incident.id !== notification.incidentId) return;
    this.settle(incident, notification.at, outcome);
  }

  private settle(incident: Incident, at: number, outcome: Outcome): void {
    // Only the latest word matters: an older message failing late (Slack was
    // retried meanwhile) says nothing about one decided after it.
    if (incident.told === undefined || incident.told.at !== at) return;
    if (!reachedItsSink(outcome)) incident.told = { ...incident.told, lost: true };
    // Slack has heard the all-clear: the incident is over.
    else if (!incident.told.active) this.incidents.delete(incident.key);
  }

  /** Incidents Slack has heard of or will, by key. */
  open(): Incident[] {
    return [...this.incidents.values()].map((incident) => ({ ...incident }));
  }

  state(): PolicyState {
    return { incidents: this.open(), maintenance: this.maintenance, quiet: this.quiet };
  }

  private consider(now: number, view: ConditionView): PolicyResult | undefined {
    let incident = this.incidents.get(view.key);
    if (incident === undefined) {
      if (!view.active) return undefined;
      incident = { id: `${view.key}@${view.since}`, key: view.key, kind: view.kind, openedAt: view.since, deferred: 0 };
      this.incidents.set(view.key, incident);
    }
    const told = incident.told;
    if (!differs(told, view)) {
      incident.reported = undefined;
      if (!view.active || told === undefined || this.maintenance || this.opts.remindMs === 0) return undefined;
      if (within(now, incident.lastSentAt, this.opts.remindMs)) return undefined;
      return this.send(now, incident, view, 'reminder');
    }
    if (this.maintenance) {
      if (told === undefined && !view.active) {
        this.incidents.delete(view.key);
        this.quiet++;
        return undefined;
      }
      return this.hold(incident, view, 'suppress', now);
    }
    // Slack's latest word is an all-clear, or nothing: a failure goes out at
    // once, as a new incident. (An all-clear that was lost is re-sent below.)
    if (told === undefined || (!told.active && !told.lost)) {
      if (!view.active) {
        this.incidents.delete(view.key);
        return undefined;
      }
      if (told !== undefined) Object.assign(incident, { id: `${view.key}@${view.since}`, openedAt: view.since, deferred: 0 });
      return this.send(now, incident, view, 'opened');
    }
    if (within(now, incident.lastSentAt, this.opts.cooldownMs)) {
      return this.hold(incident, view, 'defer', now);
    }
    return this.send(now, incident, view, view.active ? 'updated' : 'resolved');
  }

  private send(now: number, incident: Incident, view: ConditionView, message: IncidentNotification['message']): PolicyResult {
    const notification = this.notification(now, incident, view, message);
    told(incident, view, now);
    return { decision: 'send', notification };
  }

  /** Deferred or suppressed: reported once per change, sent (or summarised) later. */
  private hold(incident: Incident, view: ConditionView, decision: 'defer' | 'suppress', now: number): PolicyResult | undefined {
    const seen = { active: view.active, level: view.level };
    const reported = incident.reported;
    if (reported !== undefined && reported.active === seen.active && reported.level === seen.level) return undefined;
    incident.reported = seen;
    incident.deferred++;
    const message = incident.told === undefined ? 'opened' : view.active ? 'updated' : 'resolved';
    return { decision, notification: this.notification(now, incident, view, message) };
  }

  private notification(now: number, incident: Incident, view: ConditionView, message: IncidentNotification['message']): Notification {
    const notification: IncidentNotification = {
      kind: view.kind,
      message,
      incidentId: incident.id,
      openedAt: incident.openedAt,
      at: now,
      condition: view,
      deferred: incident.deferred,
    };
    if (incident.told !== undefined) notification.before = incident.told;
    return notification;
  }

  private endMaintenance(now: number, views: readonly ConditionView[]): PolicyResult {
    const open: ConditionView[] = [];
    const resolved: ConditionView[] = [];
    for (const view of views) {
      const incident = this.incidents.get(view.key);
      if (incident === undefined) continue;
      // An open one, and a resolved one Slack heard of as open (or whose last message was lost), are the
      // summary's to tell: the latter is kept until the summary is delivered, and its all-clear re-sent if not.
      if (view.active || incident.told?.active || incident.told?.lost) {
        (view.active ? open : resolved).push(view);
        told(incident, view, now);
        continue;
      }
      if (incident.told === undefined) this.quiet++;
      this.incidents.delete(view.key);
    }
    const notification: Notification = { kind: 'maintenance_ended', message: 'notice', at: now, open, resolved, quiet: this.quiet };
    this.quiet = 0;
    return { decision: 'send', notification };
  }
}

/** Whether Slack's word differs from the condition now. A pool serving again is not news until it has held. */
function differs(told: Told | undefined, view: ConditionView): boolean {
  if (told === undefined) return view.active;
  if (told.lost || told.active !== view.active) return true;
  return view.active && view.level !== told.level && view.level !== 'recovering';
}

/**
 * Whether `now` is less than `ms` after `since`. A wall clock stepped
 * backwards (NTP, or a state saved by a host whose clock ran ahead) counts as
 * elapsed: it must not silence an incident for the size of the step.
 */
function within(now: number, since: number | undefined, ms: number): boolean {
  if (since === undefined) return false;
  const elapsed = now - since;
  return elapsed >= 0 && elapsed < ms;
}

/** A message about `incident` saying `view` goes out now. */
function told(incident: Incident, view: ConditionView, now: number): void {
  incident.told = toldOf(view, now);
  incident.lastSentAt = now;
  incident.deferred = 0;
  incident.reported = undefined;
}

function toldOf(view: ConditionView, now: number): Told {
  return { active: view.active, level: view.level, failures: view.failures, flips: view.flips ?? 0, at: now };
}
