// Incidents to Alertmanager (ALERTMANAGER_URL): POST /api/v2/alerts, the way
// Prometheus does it. State, not messages: on each change and each tick the
// pipeline hands over the detector's conditions, and each Alertmanager is
// sent what alertmanagerPlan.ts says is due (an open alert at once and every
// resend interval, its endsAt a few intervals ahead; a resolved one with its
// real end; an incident it never saw firing after the fact, never as live).
// Alertmanager groups the watchers' alerts by incident, silences and routes
// to Slack.
//
// Each URL (an HA cluster's members) has its own loop, so a dead member
// delays none of the others. A failed post is classified like every other
// delivery (retry.ts): 5xx, 408, 429 and no answer are retried with backoff
// (RETRY_BACKOFF_*_MS, Retry-After honoured), and since each post carries
// the current truth nothing is lost meanwhile; any other 4xx is permanent
// (bad credentials, a payload refused): said once, shown in the status, and
// tried again only each resend interval. Scheduling runs on the pipeline's
// monotonic clock; startsAt/endsAt are wall-clock times computed as the post
// is made, so a clock step neither stops the re-sends nor lets an open alert
// expire. Maintenance (its silence holds every notification) keeps each
// resolution it muted, and tells it again once maintenance has ended.
import { Agent } from 'undici';
import type { Logger } from '../../common/logger.js';
import { RETRY_BACKOFF } from '../config.js';
import type { ConditionView } from '../detect/index.js';
import type { Clock } from '../types.js';
import type { DeliveryFailure } from '../vocabulary.js';
import { alertLabels, fingerprint, pastAlert, toAlertmanagerAlert, type AlertmanagerAlert } from './alertmanagerAlert.js';
import { endpoint } from './alertmanagerApi.js';
import {
  ENDS_AFTER_RESENDS,
  holdEnds,
  isDone,
  keepResolvedMs,
  pendingCount,
  plan,
  resolvedSince,
  retellEnds,
  took,
  track,
  type Planned,
  type Taken,
  type Tracked,
} from './alertmanagerPlan.js';
import { httpCall } from './http.js';
import { UNSEEN } from './wording.js';

export { ENDS_AFTER_RESENDS } from './alertmanagerPlan.js';
import { classifyAnswer, classifyError, retryWaitMs, type BackoffOptions, type Verdict } from './retry.js';


export interface AlertmanagerOptions {
  urls: readonly string[];
  stack: string;
  /** This watcher's name in the `instance` label: one alert per watcher, grouped by incident. */
  instance: string;
  resendMs: number;
  timeoutMs: number;
  /** How long a resolution is retried for an Alertmanager that does not take it. */
  retryForMs: number;
  runbookUrl?: string | undefined;
  logger: Logger;
  /** The pipeline's clock (monotonic): the conditions' times and the schedule. */
  clock: Clock;
  /** Wall clock, for startsAt/endsAt at the moment of sending; without one, `clock` is taken for it. */
  wall?: Clock;
  backoffBaseMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  /** The HTTP exchange: httpCall, unless a simulation stands in for the network (test/watcher/core). */
  call?: typeof httpCall;
  /** After each POST: how long it took, and why it failed if it did (for /metrics). */
  onAttempt?(durationMs: number, failure: DeliveryFailure | undefined): void;
}

export interface AlertmanagerStatus {
  url: string;
  /** Alerts it has not taken yet (open ones always count once). */
  pending: number;
  /** The last post failed: why. */
  lastError?: string;
  /** The last post was refused for good (a 4xx): the operator's to fix. */
  rejected?: boolean;
  /** Since when posts have failed (pipeline clock), until one succeeds. */
  failingSince?: number;
  lastDeliveredAt?: number;
}

export interface AlertmanagerNotifier {
  /** The detector's conditions now, and whether maintenance is on (default off): call on each change and each tick. Never blocks. */
  observe(views: readonly ConditionView[], maintenance?: boolean): void;
  /**
   * The conditions a previous run left (its saved state), before anything
   * else: an open one is tracked as open; one that resolved lately may be
   * held firing by an Alertmanager that lost its end (it restarted), so its
   * end is posted again, as for any resolution taken.
   */
  observeRestored(views: readonly ConditionView[], maintenance?: boolean): void;
  /** Incidents read from the log after a restart that had already ended: told after the fact, never as live. */
  observePast(past: readonly { view: ConditionView; openedAt: number }[]): void;
  status(): AlertmanagerStatus[];
  /** Posts what is due to each Alertmanager once more (bounded by `timeoutMs`), then stops. */
  close(timeoutMs: number): Promise<void>;
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
  rejected?: boolean;
  failingSince?: number;
  lastDeliveredAt?: number;
  nextResendAt: number;
}

export function createAlertmanagerNotifier(opts: AlertmanagerOptions): AlertmanagerNotifier {
  const log = opts.logger.child({ component: 'alertmanager' });
  const agent = new Agent({ connect: { timeout: opts.timeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  const backoff: BackoffOptions = { baseMs: opts.backoffBaseMs ?? RETRY_BACKOFF.baseMs, maxMs: opts.maxBackoffMs ?? RETRY_BACKOFF.maxMs, random: opts.random ?? Math.random };
  const { clock } = opts;
  const classify = { maxRetryAfterMs: 60_000, now: opts.wall ?? clock };
  const alerts = new Map<string, Tracked>();
  let closed = false;
  let maintenance = false;
  const targets: Target[] = opts.urls.map((url) => {
    const base = new URL(url);
    return { base, host: base.host, taken: new Map(), dirty: false, wakeable: false, failures: 0, nextResendAt: 0 };
  });
  const fingerprintOf = (view: ConditionView) => fingerprint(alertLabels(view, opts.stack, opts.instance));

  function markDirty(): void {
    for (const t of targets) {
      t.dirty = true;
      if (t.wakeable) t.wake?.();
    }
  }

  /** The alert a planned post sends, its times in wall clock as of now. */
  function body(due: readonly Planned[], now: number): AlertmanagerAlert[] {
    const wallNow = opts.wall?.() ?? now;
    const toWall = (t: number) => wallNow - (now - t);
    return due.flatMap(({ fp, post }) => {
      const a = alerts.get(fp);
      if (a === undefined) return [];
      const common = { stack: opts.stack, instance: opts.instance, openedAt: toWall(a.openedAt), runbookUrl: opts.runbookUrl };
      switch (post) {
        case 'firing':
          return [toAlertmanagerAlert({ ...a.view, active: true }, { ...common, endsAt: wallNow + ENDS_AFTER_RESENDS * opts.resendMs })];
        case 'resolved':
          return [toAlertmanagerAlert(a.view, { ...common, endsAt: toWall(a.resolvedAt ?? now) })];
        case 'past_firing':
        case 'past_resolved': {
          const resolvedAt = toWall(a.resolvedAt ?? now);
          const unseen = a.missed ? UNSEEN.watcherDown : UNSEEN.alertmanagerDown;
          return [pastAlert(a.view, { ...common, resolvedAt, unseen, endsAt: post === 'past_firing' ? wallNow + opts.resendMs : wallNow })];
        }
      }
    });
  }

  /** Forgets resolutions every Alertmanager took (once their re-sends are over), or that one never took within retryForMs. */
  function prune(now: number): void {
    for (const [fp, a] of alerts) {
      if (a.resolvedAt === undefined || a.heldEnd) continue;
      const missing = targets.filter((t) => !isDone(t.taken.get(fp)));
      if (missing.length === 0 && now - resolvedSince(a) < keepResolvedMs(opts.resendMs)) continue;
      if (missing.length > 0 && now - resolvedSince(a) < opts.retryForMs) continue;
      if (missing.length > 0) {
        log.error(
          { alert: a.view.key, hosts: missing.map((t) => t.host), retriedForMs: opts.retryForMs },
          'giving up on a resolution: Alertmanager unreachable for ALERTMANAGER_RETRY_FOR_SEC; it resolves there when its endsAt passes',
        );
      }
      alerts.delete(fp);
      for (const t of targets) t.taken.delete(fp);
    }
  }

  async function post(target: Target, alertsBody: AlertmanagerAlert[]): Promise<Verdict> {
    const started = performance.now();
    let verdict: Verdict;
    try {
      const { url, headers } = endpoint(target.base, '/api/v2/alerts');
      const answer = await (opts.call ?? httpCall)(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(alertsBody),
        dispatcher: agent,
        timeoutMs: opts.timeoutMs,
      });
      verdict = classifyAnswer(answer, classify);
    } catch (err) {
      verdict = classifyError(err);
    }
    opts.onAttempt?.(performance.now() - started, verdict.outcome === 'delivered' ? undefined : verdict.failure);
    return verdict;
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
    const resendDue = now >= target.nextResendAt;
    const { due } = plan(alerts, target.taken, now, resendDue, target.nextResendAt, opts.resendMs);
    if (due.length === 0) {
      if (resendDue) target.nextResendAt = now + opts.resendMs;
      const { nextAt } = plan(alerts, target.taken, now, false, target.nextResendAt, opts.resendMs);
      return { waitMs: nextAt === Infinity ? opts.resendMs : nextAt - now, wakeable: true };
    }
    const verdict = await post(target, body(due, now));
    const after = clock();
    if (verdict.outcome === 'delivered') {
      took(alerts, target.taken, due, after, now + ENDS_AFTER_RESENDS * opts.resendMs);
      if (target.failures > 0) log.info({ host: target.host, attempts: target.failures + 1 }, 'Alertmanager takes alerts again');
      Object.assign(target, { failures: 0, lastError: undefined, rejected: undefined, failingSince: undefined, lastDeliveredAt: after });
      if (resendDue) target.nextResendAt = now + opts.resendMs;
      prune(after);
      const { nextAt } = plan(alerts, target.taken, after, false, target.nextResendAt, opts.resendMs);
      return { waitMs: nextAt === Infinity ? opts.resendMs : Math.max(0, nextAt - after), wakeable: true };
    }
    target.failures++;
    target.failingSince ??= now;
    const firstOfItsKind = verdict.reason !== target.lastError;
    target.lastError = verdict.reason;
    prune(after);
    // Whatever was due stays due (nothing was marked taken): the next try posts the truth as it is then.
    if (verdict.outcome === 'permanent') {
      target.rejected = true;
      if (firstOfItsKind) log.error({ host: target.host, reason: verdict.reason }, 'Alertmanager rejected the alerts; trying again each resend interval, fix the URL or credentials');
      return { waitMs: opts.resendMs, wakeable: false };
    }
    target.rejected = undefined;
    const waitMs = retryWaitMs(verdict, target.failures, backoff);
    log.warn({ host: target.host, attempt: target.failures, reason: verdict.reason, alerts: due.length, retryInMs: waitMs }, 'Alertmanager delivery failed; will retry');
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

  function observe(views: readonly ConditionView[], maintenanceNow = false): void {
    const now = clock();
    let changed = false;
    if (maintenanceNow && !maintenance) holdEnds(alerts);
    if (!maintenanceNow && maintenance) changed = retellEnds(alerts, targets.map((t) => t.taken), now);
    maintenance = maintenanceNow;
    if (track(alerts, views, fingerprintOf, now, maintenance) || changed) markDirty();
  }

  return {
    observe,
    observeRestored(views, maintenanceNow = false) {
      const now = clock();
      for (const view of views) {
        if (view.active || now - view.since >= keepResolvedMs(opts.resendMs)) continue;
        const fp = fingerprintOf(view);
        alerts.set(fp, { openedAt: view.since, view, resolvedAt: view.since });
        // Told firing by the previous run, for all this one knows: its end, never an after-the-fact report.
        for (const t of targets) t.taken.set(fp, { openedAt: view.since, firingAt: now });
      }
      observe(views.filter((v) => v.active), maintenanceNow);
    },
    observePast(past) {
      for (const { view, openedAt } of past) {
        const fp = fingerprintOf(view);
        if (alerts.get(fp)?.openedAt === openedAt) continue;
        alerts.set(fp, { openedAt, view, resolvedAt: view.since, missed: true });
        markDirty();
      }
    },
    status() {
      return targets.map((t) => ({
        url: `${t.base.protocol}//${t.host}`,
        pending: pendingCount(alerts, t.taken),
        ...(t.lastError === undefined ? {} : { lastError: t.lastError }),
        ...(t.rejected ? { rejected: true } : {}),
        ...(t.failingSince === undefined ? {} : { failingSince: t.failingSince }),
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
        targets.map(async (t, i) => {
          await loops[i];
          if (t.dirty) await round(t);
        }),
      );
      await Promise.race([last, deadline]);
      clearTimeout(timer);
      await agent.destroy();
    },
  };
}
