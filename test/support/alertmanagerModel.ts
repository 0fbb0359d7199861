// A model of what Alertmanager does with the alerts it is posted, after its
// source (v0.2x–0.33): the store merges a re-posted alert with the one it
// holds (provider/mem, types.Alert.Merge: the newer post's fields, the
// earliest startsAt), the dispatcher groups alerts by the route's group_by,
// flushes a new group after group_wait and then every group_interval, and the
// dedup stage (notify.DedupStage.needsUpdate) decides from the notification
// log whether a flush notifies; resolved alerts leave the group once
// flushed. A silence mutes the alerts it matches before dedup (the mute
// stage): a muted flush notifies nothing and logs nothing, and its resolved
// alerts leave the group all the same. What the receiver gets is recorded as Slack would show it: the
// group's status and its alerts. Time is whatever the caller says it is.
import type { AlertmanagerAlert } from '../../watcher/notify/alertmanagerAlert.js';

export interface ModelTimings {
  groupBy: readonly string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

interface Stored {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  endsAt: number;
  updatedAt: number;
}

interface Group {
  key: string;
  alerts: Map<string, Stored>;
  nextFlushAt: number;
}

/** The notification log's entry for a group: what its last notification held. It outlives the group (nflog, kept for days). */
interface LogEntry {
  firing: Set<string>;
  resolved: Set<string>;
  at: number;
}

export interface Notified {
  at: number;
  group: string;
  status: 'firing' | 'resolved';
  /** Each alert's summary for its status, as the receiver's template titles it. */
  title: string;
  firing: Record<string, string>[];
  resolved: Record<string, string>[];
}

const fingerprint = (labels: Record<string, string>) => JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));

export class AlertmanagerModel {
  readonly notifications: Notified[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly log = new Map<string, LogEntry>();
  /** Active silences: label equality matchers, by id. */
  private readonly silences = new Map<string, Record<string, string>>();

  constructor(private readonly timings: ModelTimings) {}

  /** POST /api/v2/alerts at `now`. */
  post(alerts: readonly AlertmanagerAlert[], now: number): void {
    for (const a of alerts) {
      const incoming: Stored = { labels: a.labels, annotations: a.annotations, startsAt: Date.parse(a.startsAt), endsAt: Date.parse(a.endsAt), updatedAt: now };
      const key = this.timings.groupBy.map((l) => `${l}=${a.labels[l] ?? ''}`).join(',');
      let group = this.groups.get(key);
      if (group === undefined) {
        group = { key, alerts: new Map(), nextFlushAt: now + this.timings.groupWaitMs };
        this.groups.set(key, group);
      }
      const fp = fingerprint(a.labels);
      const old = group.alerts.get(fp);
      group.alerts.set(fp, old !== undefined && overlaps(old, incoming) ? merge(old, incoming) : incoming);
    }
  }

  /** POST /api/v2/silences (equality matchers only). */
  silence(id: string, matchers: Record<string, string>): void {
    this.silences.set(id, matchers);
  }

  /** DELETE /api/v2/silence/{id}. */
  expire(id: string): void {
    this.silences.delete(id);
  }

  /** A restart: the alerts it held are gone (they live in memory); the notification log and silences persist. */
  restart(): void {
    this.groups.clear();
  }

  /** Runs every flush due up to `now`, in time order. */
  advance(now: number): void {
    for (;;) {
      const next = [...this.groups.values()].filter((g) => g.nextFlushAt <= now).sort((a, b) => a.nextFlushAt - b.nextFlushAt)[0];
      if (next === undefined) return;
      this.flush(next, next.nextFlushAt);
    }
  }

  /** Alerts the store still calls active (GET /api/v2/alerts shows only these). */
  active(now: number): Record<string, string>[] {
    return [...this.groups.values()].flatMap((g) => [...g.alerts.values()].filter((a) => a.endsAt > now).map((a) => a.labels));
  }

  /** The latest word the receiver heard about the group whose labels include `match`. */
  latest(match: Record<string, string>): Notified | undefined {
    return this.notifications.filter((n) => n.firing.concat(n.resolved).some((l) => Object.entries(match).every(([k, v]) => l[k] === v))).at(-1);
  }

  private flush(group: Group, now: number): void {
    group.nextFlushAt = now + this.timings.groupIntervalMs;
    const firing = new Map<string, Stored>();
    const resolved = new Map<string, Stored>();
    for (const [fp, a] of group.alerts) {
      if (!this.muted(a.labels)) (a.endsAt > now ? firing : resolved).set(fp, a);
    }
    const muted = [...group.alerts.entries()].filter(([, a]) => this.muted(a.labels) && a.endsAt <= now).map(([fp]) => fp);
    if (firing.size + resolved.size > 0 && needsUpdate(this.log.get(group.key), firing, resolved, now, this.timings.repeatIntervalMs)) {
      const status = firing.size > 0 ? 'firing' : 'resolved';
      // As monitoring/alertmanager.yml titles it: an alert that expired unrefreshed names a resolved group.
      const ended = [...resolved.values()];
      const first = status === 'firing' ? [...firing.values()][0] : (ended.find((a) => a.annotations.resolved_by === 'expiry') ?? ended[0]);
      this.notifications.push({
        at: now,
        group: group.key,
        status,
        title:
          (status === 'resolved'
            ? (first?.annotations.resolved_summary ?? first?.annotations.summary)
            : resolved.size > 0
              ? first?.annotations.partial_summary
              : first?.annotations.summary) ?? '',
        firing: [...firing.values()].map((a) => a.labels),
        resolved: [...resolved.values()].map((a) => a.labels),
      });
      this.log.set(group.key, { firing: new Set(firing.keys()), resolved: new Set(resolved.keys()), at: now });
    }
    for (const fp of [...resolved.keys(), ...muted]) group.alerts.delete(fp);
    if (group.alerts.size === 0) this.groups.delete(group.key);
  }

  private muted(labels: Record<string, string>): boolean {
    return [...this.silences.values()].some((m) => Object.entries(m).every(([k, v]) => labels[k] === v));
  }
}

function overlaps(old: Stored, incoming: Stored): boolean {
  return (incoming.endsAt > old.startsAt && incoming.endsAt < old.endsAt) || (incoming.startsAt >= old.startsAt && incoming.startsAt <= old.endsAt);
}

/** types.Alert.Merge: the younger post's fields; the earliest start; an explicit resolution or a later end kept. */
function merge(a: Stored, o: Stored): Stored {
  if (o.updatedAt < a.updatedAt) [a, o] = [o, a];
  const res = { ...o };
  if (a.startsAt < o.startsAt) res.startsAt = a.startsAt;
  const oResolved = o.endsAt <= o.updatedAt;
  const aResolved = a.endsAt <= a.updatedAt;
  if (oResolved) {
    if (aResolved && a.endsAt > o.endsAt) res.endsAt = a.endsAt;
  } else if (a.endsAt > o.endsAt) {
    res.endsAt = a.endsAt;
  }
  return res;
}

function needsUpdate(log: LogEntry | undefined, firing: Map<string, Stored>, resolved: Map<string, Stored>, now: number, repeatMs: number): boolean {
  if (log === undefined) return firing.size > 0;
  if ([...firing.keys()].some((fp) => !log.firing.has(fp))) return true;
  if (firing.size === 0) return log.firing.size > 0;
  if ([...resolved.keys()].some((fp) => !log.resolved.has(fp))) return true;
  return log.at < now - repeatMs;
}
