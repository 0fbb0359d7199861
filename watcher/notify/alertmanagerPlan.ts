// What each Alertmanager must be sent now: pure, from the conditions the
// watcher tracks and what that Alertmanager has taken so far. After
// Prometheus's notifier: an open alert is sent at once and re-sent every
// resend interval; a resolved one is sent with its real end until taken, and
// never again as firing. An incident that resolved before this Alertmanager
// took it firing (it was out of reach, or this watcher restarted) gets its
// end all the same (it may hold the alert from before) and is told after the
// fact (`past`), through an alert of its own, fired once and then resolved:
// nothing here can reopen the live alert. A resolution taken under
// maintenance reached nobody (the silence muted it, and Alertmanager forgets
// a resolved alert once it has flushed it, muted or not): it is kept, and
// told again when maintenance ends. An open alert that Alertmanager let
// expire (its endsAt passed before a re-send got through) has been closed
// there as "no longer reported": when it turns out to have resolved
// meanwhile, its end alone would notify nothing, so it is told after the fact
// too. A resolution taken is posted again at each resend for as long as an
// open alert would last (Prometheus re-sends them too): Alertmanager keeps
// alerts in memory only, and one that restarted before flushing it would
// otherwise leave Slack saying "failing". Times are the pipeline's monotonic
// clock.
import type { ConditionView } from '../detect/index.js';

/** An open alert lasts this many resend intervals unless posted again: one lost post does not resolve it. */
export const ENDS_AFTER_RESENDS = 4;

export interface Tracked {
  openedAt: number;
  view: ConditionView;
  /** When it resolved; undefined while open. */
  resolvedAt?: number;
  /** Resolved during maintenance: its end is told again when maintenance ends. */
  heldEnd?: boolean;
  /** When maintenance ended and its end was told again: the retry window starts anew. */
  retoldAt?: number;
  /** Read from the log after a restart, already over: this watcher missed it live. */
  missed?: boolean;
}

/** What one Alertmanager has taken of one alert. */
export interface Taken {
  openedAt: number;
  /** When it took the live alert firing (monotonic). */
  firingAt?: number;
  /** When the live alert it took last expires there unless posted again (monotonic). */
  expiresAt?: number;
  /** The live alert had expired there before its end was posted: the end is told after the fact. */
  lapsed?: boolean;
  /** It took the live alert's end. */
  ended?: boolean;
  /** When it took the after-the-fact alert firing. */
  pastAt?: number;
  /** It took the after-the-fact alert's end. */
  pastEnded?: boolean;
}

/** Nothing more to send it about this alert. */
export const isDone = (t: Taken | undefined): boolean => t?.ended === true && ((t.firingAt !== undefined && !t.lapsed) || t.pastEnded === true);

export type Post = 'firing' | 'resolved' | 'past_firing' | 'past_resolved';

export interface Planned {
  fp: string;
  post: Post;
}

/**
 * The posts due now for one Alertmanager, and when to look again at the
 * latest. `resendDue`: its resend interval has run out, so every open alert
 * goes again. `taken` entries of an earlier incident under the same key are
 * dropped here.
 */
export function plan(
  alerts: ReadonlyMap<string, Tracked>,
  taken: Map<string, Taken>,
  now: number,
  resendDue: boolean,
  nextResendAt: number,
  resendMs: number,
): { due: Planned[]; nextAt: number } {
  const due: Planned[] = [];
  let nextAt = Infinity;
  for (const [fp, a] of alerts) {
    let t = taken.get(fp);
    if (t !== undefined && t.openedAt !== a.openedAt) {
      taken.delete(fp);
      t = undefined;
    }
    if (a.resolvedAt === undefined) {
      if (resendDue || t?.firingAt === undefined) due.push({ fp, post: 'firing' });
      nextAt = Math.min(nextAt, nextResendAt > now ? nextResendAt : now + resendMs);
      continue;
    }
    if (!t?.ended) {
      due.push({ fp, post: 'resolved' });
      if (t?.expiresAt !== undefined && now >= t.expiresAt) t.lapsed = true;
    } else if (now - resolvedSince(a) < keepResolvedMs(resendMs)) {
      if (resendDue) due.push({ fp, post: 'resolved' });
      nextAt = Math.min(nextAt, nextResendAt > now ? nextResendAt : now + resendMs);
    }
    if ((t?.firingAt !== undefined && !t.lapsed) || t?.pastEnded) continue;
    if (t?.pastAt === undefined) {
      due.push({ fp, post: 'past_firing' });
      nextAt = Math.min(nextAt, now + resendMs);
      continue;
    }
    // Fired after the fact: resolved one resend later, so Alertmanager's group_wait (shorter) notifies it first.
    const resolveAt = t.pastAt + resendMs;
    if (now >= resolveAt) due.push({ fp, post: 'past_resolved' });
    else nextAt = Math.min(nextAt, resolveAt);
  }
  return { due, nextAt };
}

/** Since when a resolution stands (told again at maintenance end: since then). */
export const resolvedSince = (a: Tracked): number => a.retoldAt ?? a.resolvedAt ?? 0;

/** How long a resolution is re-posted after it was taken: as long as an open alert lasts unrefreshed. */
export const keepResolvedMs = (resendMs: number): number => ENDS_AFTER_RESENDS * resendMs;

/** Records what an Alertmanager took: the answer to a successful post of `due`, whose firing alerts end at `firingEndsAt`. */
export function took(
  alerts: ReadonlyMap<string, Tracked>,
  taken: Map<string, Taken>,
  due: readonly Planned[],
  at: number,
  firingEndsAt: number,
): void {
  for (const { fp, post } of due) {
    const a = alerts.get(fp);
    if (a === undefined) continue;
    const t = taken.get(fp) ?? { openedAt: a.openedAt };
    if (post === 'firing') {
      t.firingAt ??= at;
      t.expiresAt = firingEndsAt;
    }
    else if (post === 'resolved') t.ended = true;
    else if (post === 'past_firing') t.pastAt ??= at;
    else t.pastEnded = true;
    taken.set(fp, t);
  }
}

/** Open alerts not yet taken firing, plus resolved ones whose end was not taken: what a status counts as pending. */
export function pendingCount(alerts: ReadonlyMap<string, Tracked>, taken: ReadonlyMap<string, Taken>): number {
  let n = 0;
  for (const [fp, a] of alerts) {
    const t = taken.get(fp);
    if (a.resolvedAt === undefined ? t?.firingAt === undefined : !isDone(t)) n++;
  }
  return n;
}

/**
 * The detector's conditions now, folded into the tracked alerts: a new or
 * reopened incident starts fresh, a resolution is recorded once, and a
 * condition the detector no longer reports is over. True when anything changed.
 */
export function track(
  alerts: Map<string, Tracked>,
  views: readonly ConditionView[],
  fingerprintOf: (view: ConditionView) => string,
  now: number,
  maintenance = false,
): boolean {
  let changed = false;
  const seen = new Set<string>();
  for (const view of views) {
    const fp = fingerprintOf(view);
    seen.add(fp);
    const tracked = alerts.get(fp);
    if (view.active) {
      if (tracked === undefined || tracked.resolvedAt !== undefined) {
        alerts.set(fp, { openedAt: view.since, view });
        changed = true;
      } else {
        tracked.view = view;
      }
    } else if (tracked !== undefined && tracked.resolvedAt === undefined) {
      tracked.resolvedAt = view.since;
      tracked.view = view;
      if (maintenance) tracked.heldEnd = true;
      changed = true;
    }
  }
  for (const [fp, a] of alerts) {
    if (seen.has(fp) || a.resolvedAt !== undefined) continue;
    a.resolvedAt = now;
    a.view = { ...a.view, active: false, since: now, at: now, level: 'ok' };
    if (maintenance) a.heldEnd = true;
    changed = true;
  }
  return changed;
}

/**
 * Maintenance began: a resolution not yet notified (Alertmanager holds it
 * for its next group tick) would be muted too, so it is held like the ones
 * that come during maintenance.
 */
export function holdEnds(alerts: ReadonlyMap<string, Tracked>): void {
  for (const a of alerts.values()) if (a.resolvedAt !== undefined) a.heldEnd = true;
}

/**
 * Maintenance ended (its silence expired first): each resolution it held is
 * due again at every Alertmanager, so the group's all-clear is notified.
 * True when there is any.
 */
export function retellEnds(alerts: ReadonlyMap<string, Tracked>, takens: readonly Map<string, Taken>[], now: number): boolean {
  let any = false;
  for (const [fp, a] of alerts) {
    if (!a.heldEnd) continue;
    a.heldEnd = undefined;
    a.retoldAt = now;
    for (const taken of takens) {
      const t = taken.get(fp);
      if (t === undefined) continue;
      // Its end was taken in time once: told again, it is an end, not a lapse.
      t.ended = false;
      t.expiresAt = undefined;
    }
    any = true;
  }
  return any;
}
