// Incidents to Alertmanager (ALERTMANAGER_URL): POST /api/v2/alerts, the way
// Prometheus does it. State, not messages: on each change and each tick the
// pipeline hands over the detector's conditions; every open one is posted as
// a firing alert and posted again every resend interval (its endsAt a few
// intervals ahead, so an alert nobody re-sends resolves by itself), and a
// resolved one is posted with its real endsAt until each Alertmanager took
// it. Alertmanager deduplicates (the labels name the incident, not the
// watcher: alertmanagerAlert.ts), groups, silences and routes to Slack.
//
// Each URL (an HA cluster's members) has its own loop, so a dead member
// delays none of the others. A failed post is retried with backoff (1 s
// doubling to 10 s, like Slack's), and since each post carries the current
// truth nothing is lost meanwhile: an incident that opened and resolved
// while an Alertmanager was unreachable is posted firing first and resolved
// one resend interval later, so Alertmanager (whose group_wait must be
// shorter) still notifies it.
import { Agent, request } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { ConditionView } from '../detect/index.js';
import type { Clock } from '../types.js';
import { fingerprint, alertLabels, toAlertmanagerAlert, type AlertmanagerAlert } from './alertmanagerAlert.js';
import { describeError, endpoint, RESPONSE_SAMPLE } from './alertmanagerApi.js';

/** An open alert lasts this many resend intervals unless posted again: one lost post does not resolve it. */
export const ENDS_AFTER_RESENDS = 4;

export interface AlertmanagerOptions {
  urls: readonly string[];
  stack: string;
  resendMs: number;
  timeoutMs: number;
  /** How long a resolution is retried for an Alertmanager that does not take it. */
  retryForMs: number;
  runbookUrl?: string | undefined;
  logger: Logger;
  clock: Clock;
  backoffBaseMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

export interface AlertmanagerStatus {
  url: string;
  /** Alerts it has not taken yet (open ones always count once). */
  pending: number;
  /** The last post failed: why. */
  lastError?: string;
  lastDeliveredAt?: number;
}

export interface AlertmanagerNotifier {
  /** The detector's conditions now: call on each change and each tick. Never blocks. */
  observe(views: readonly ConditionView[]): void;
  status(): AlertmanagerStatus[];
  /** Posts what is due to each Alertmanager once more (bounded by `timeoutMs`), then stops. */
  close(timeoutMs: number): Promise<void>;
}

interface Tracked {
  labels: Record<string, string>;
  openedAt: number;
  view: ConditionView;
  /** When it resolved; undefined while open. */
  resolvedAt?: number;
}

/** What one Alertmanager has taken of one alert. */
interface Taken {
  openedAt: number;
  /** When it first took the alert firing. */
  firingAt?: number;
  resolved?: boolean;
}

interface Target {
  base: URL;
  host: string;
  taken: Map<string, Taken>;
  dirty: boolean;
  wake?: () => void;
  /** Whether the current wait ends on news (not during a backoff). */
  wakeable: boolean;
  failures: number;
  lastError?: string;
  lastDeliveredAt?: number;
  nextResendAt: number;
}

export function createAlertmanagerNotifier(opts: AlertmanagerOptions): AlertmanagerNotifier {
  const log = opts.logger.child({ component: 'alertmanager' });
  const agent = new Agent({ connect: { timeout: opts.timeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  const backoffBaseMs = opts.backoffBaseMs ?? 1000;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const random = opts.random ?? Math.random;
  const { clock } = opts;
  const alerts = new Map<string, Tracked>();
  let closed = false;
  const targets: Target[] = opts.urls.map((url) => {
    const base = new URL(url);
    return { base, host: base.host, taken: new Map(), dirty: false, wakeable: false, failures: 0, nextResendAt: 0 };
  });

  function markDirty(): void {
    for (const t of targets) {
      t.dirty = true;
      if (t.wakeable) t.wake?.();
    }
  }

  /** What `target` must be sent now, and when it must be looked at again at the latest. */
  function due(target: Target, now: number): { batch: { fp: string; alert: AlertmanagerAlert; firing: boolean }[]; nextAt: number } {
    const batch: { fp: string; alert: AlertmanagerAlert; firing: boolean }[] = [];
    let nextAt = Infinity;
    const resend = now >= target.nextResendAt;
    for (const [fp, a] of alerts) {
      let taken = target.taken.get(fp);
      if (taken !== undefined && taken.openedAt !== a.openedAt) {
        target.taken.delete(fp);
        taken = undefined;
      }
      const endsAt = now + ENDS_AFTER_RESENDS * opts.resendMs;
      const firing = () => toAlertmanagerAlert({ ...a.view, active: true }, { stack: opts.stack, openedAt: a.openedAt, endsAt, runbookUrl: opts.runbookUrl });
      if (a.resolvedAt === undefined) {
        if (resend || taken?.firingAt === undefined) batch.push({ fp, alert: firing(), firing: true });
        nextAt = Math.min(nextAt, target.nextResendAt > now ? target.nextResendAt : now + opts.resendMs);
        continue;
      }
      if (taken?.resolved) continue;
      if (taken?.firingAt === undefined) {
        // It never fired here: fire it first, or Alertmanager would never tell anyone.
        batch.push({ fp, alert: firing(), firing: true });
        nextAt = Math.min(nextAt, now + opts.resendMs);
        continue;
      }
      const resolveAt = taken.firingAt >= a.resolvedAt ? taken.firingAt + opts.resendMs : 0;
      if (now < resolveAt) {
        nextAt = Math.min(nextAt, resolveAt);
        continue;
      }
      const alert = toAlertmanagerAlert(a.view, { stack: opts.stack, openedAt: a.openedAt, endsAt: a.resolvedAt, runbookUrl: opts.runbookUrl });
      batch.push({ fp, alert, firing: false });
    }
    return { batch, nextAt };
  }

  /** Forgets resolutions every Alertmanager took, or that one never took within retryForMs. */
  function prune(now: number): void {
    for (const [fp, a] of alerts) {
      if (a.resolvedAt === undefined) continue;
      const missing = targets.filter((t) => t.taken.get(fp)?.resolved !== true);
      if (missing.length > 0 && now - a.resolvedAt < opts.retryForMs) continue;
      if (missing.length > 0) {
        log.error(
          { alert: a.labels, hosts: missing.map((t) => t.host), retriedForMs: opts.retryForMs },
          'giving up on a resolution: Alertmanager unreachable for ALERTMANAGER_RETRY_FOR_SEC; it resolves there when its endsAt passes',
        );
      }
      alerts.delete(fp);
      for (const t of targets) t.taken.delete(fp);
    }
  }

  async function post(target: Target, body: string): Promise<{ ok: true } | { ok: false; reason: string; retryAfterMs?: number }> {
    try {
      const { url, headers } = endpoint(target.base, '/api/v2/alerts');
      const res = await request(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const answer = (await res.body.text()).slice(0, RESPONSE_SAMPLE);
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      const reason = `HTTP ${res.statusCode}${answer ? `: ${answer}` : ''}`;
      const retryAfter = Number(res.headers['retry-after']);
      return res.statusCode === 429 && Number.isFinite(retryAfter) ? { ok: false, reason, retryAfterMs: retryAfter * 1000 } : { ok: false, reason };
    } catch (err) {
      return { ok: false, reason: describeError(err) };
    }
  }

  /** Waits `ms`; news (markDirty) cuts a wait short unless it is a backoff, and close() cuts any. */
  function sleepOrWake(target: Target, ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      function done() {
        clearTimeout(timer);
        target.wake = undefined;
        resolve();
      }
      target.wake = done;
      target.wakeable = wakeable;
    });
  }

  /** One round for `target`: posts what is due; returns how long to wait before the next. */
  async function round(target: Target): Promise<{ waitMs: number; wakeable: boolean }> {
    const now = clock();
    target.dirty = false;
    const { batch, nextAt } = due(target, now);
    if (batch.length === 0) {
      if (now >= target.nextResendAt) target.nextResendAt = now + opts.resendMs;
      return { waitMs: nextAt === Infinity ? opts.resendMs : nextAt - now, wakeable: true };
    }
    const result = await post(target, JSON.stringify(batch.map((b) => b.alert)));
    const after = clock();
    if (result.ok) {
      for (const { fp, firing } of batch) {
        const a = alerts.get(fp);
        if (a === undefined) continue;
        const taken = target.taken.get(fp) ?? { openedAt: a.openedAt };
        if (firing) taken.firingAt ??= after;
        else taken.resolved = true;
        target.taken.set(fp, taken);
      }
      if (target.failures > 0) log.info({ host: target.host, attempts: target.failures + 1 }, 'Alertmanager reachable again: alerts delivered');
      target.failures = 0;
      target.lastError = undefined;
      target.lastDeliveredAt = after;
      if (now >= target.nextResendAt) target.nextResendAt = now + opts.resendMs;
      prune(after);
      const next = due(target, after).nextAt;
      return { waitMs: next === Infinity ? opts.resendMs : Math.max(0, next - after), wakeable: true };
    }
    target.failures++;
    target.lastError = result.reason;
    const ceiling = Math.min(maxBackoffMs, backoffBaseMs * 2 ** (target.failures - 1));
    const waitMs = Math.max(backoffBaseMs, result.retryAfterMs ?? Math.round(ceiling / 2 + (random() * ceiling) / 2));
    log.warn({ host: target.host, attempt: target.failures, reason: result.reason, alerts: batch.length, retryInMs: waitMs }, 'Alertmanager delivery failed; will retry');
    prune(after);
    // Whatever was due stays due (nothing was marked taken): the retry posts the truth as it is then.
    return { waitMs, wakeable: false };
  }

  async function loop(target: Target): Promise<void> {
    while (!closed) {
      const { waitMs, wakeable } = await round(target);
      if (closed) break;
      // News that came in during the post goes out at once; a backoff waits its turn.
      if (wakeable && target.dirty) continue;
      await sleepOrWake(target, waitMs, wakeable);
    }
  }

  const loops = targets.map((t) => loop(t));

  return {
    observe(views) {
      const now = clock();
      let changed = false;
      const seen = new Set<string>();
      for (const view of views) {
        const fp = fingerprint(alertLabels(view, opts.stack));
        seen.add(fp);
        const tracked = alerts.get(fp);
        if (view.active) {
          if (tracked === undefined || tracked.resolvedAt !== undefined) {
            alerts.set(fp, { labels: alertLabels(view, opts.stack), openedAt: view.since, view });
            changed = true;
          } else {
            tracked.view = view;
          }
        } else if (tracked !== undefined && tracked.resolvedAt === undefined) {
          tracked.resolvedAt = view.since;
          tracked.view = view;
          changed = true;
        }
      }
      // A condition the detector no longer reports is over.
      for (const [fp, a] of alerts) {
        if (seen.has(fp) || a.resolvedAt !== undefined) continue;
        a.resolvedAt = now;
        a.view = { ...a.view, active: false, since: now, at: now, level: 'ok' };
        changed = true;
      }
      if (changed) markDirty();
    },
    status() {
      return targets.map((t) => ({
        url: `${t.base.protocol}//${t.host}`,
        pending: [...alerts.entries()].filter(([fp, a]) => (a.resolvedAt === undefined ? t.taken.get(fp)?.firingAt === undefined : !t.taken.get(fp)?.resolved)).length,
        ...(t.lastError === undefined ? {} : { lastError: t.lastError }),
        ...(t.lastDeliveredAt === undefined ? {} : { lastDeliveredAt: t.lastDeliveredAt }),
      }));
    },
    async close(timeoutMs) {
      closed = true;
      for (const t of targets) t.wake?.();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      // One last post of what changed (a resolution decided just now), bounded.
      const last = Promise.all(
        targets.map(async (t) => {
          await loops[targets.indexOf(t)];
          if (t.dirty) await round(t);
        }),
      );
      await Promise.race([last, deadline]);
      clearTimeout(timer);
      await agent.destroy();
    },
  };
}
