// The log the watcher reads after a restart, from its saved position: what
// happened while it was down. Read at once, those lines would look live, so
// while the source catches up (source/ says when) the detector runs on the
// log's own time, each line's `time=`, not on the clock: a recovery hold
// that ran out in the log has run out, whatever second the line is read.
// What opened and resolved in that stretch is an incident of the past, told
// after the fact with its times, never as a live page; what is still open
// at its end is live, and the policy hears of it then, opened at its real
// time. Pure: the caller hands in each line's time and the detector's views.
import type { ConditionView } from './view.js';

/** How often, in log time, held conditions are looked at while catching up: the live tick's rate. */
export const BACKLOG_TICK_MS = 1000;

/** An incident that opened and resolved in the backlog. */
export interface PastIncident {
  /** The condition as it resolved. */
  view: ConditionView;
  openedAt: number;
  resolvedAt: number;
}

export class Backlog {
  private latest = -Infinity;
  private nextTickAt = -Infinity;
  /** Open when the watcher went down: the policy knows them, and tells how they end. */
  private readonly known: Set<string>;
  /** Opened in the backlog, with their opening times. */
  private readonly opened = new Map<string, number>();
  private readonly past: PastIncident[] = [];

  constructor(before: readonly ConditionView[]) {
    this.known = new Set(before.filter((v) => v.active).map((v) => v.key));
  }

  /** The log time read so far (epoch ms), or undefined before the first line that has one. */
  get now(): number | undefined {
    return this.latest === -Infinity ? undefined : this.latest;
  }

  /**
   * A line's time (epoch ms; undefined when it has none): never goes back,
   * since workers write their lines a few milliseconds out of order. True
   * when a tick's worth of log time has passed: the moment to let holds run out.
   */
  advance(time: number | undefined): boolean {
    if (time === undefined || !(time > this.latest)) return false;
    this.latest = time;
    if (time < this.nextTickAt) return false;
    this.nextTickAt = time + BACKLOG_TICK_MS;
    return true;
  }

  /** The detector's views after a change: records openings and resolutions. */
  observe(views: readonly ConditionView[]): void {
    for (const view of views) {
      if (view.active) {
        if (!this.known.has(view.key) && !this.opened.has(view.key)) this.opened.set(view.key, view.since);
        continue;
      }
      // One the policy knew has ended: its all-clear is the policy's to send, as for any incident.
      this.known.delete(view.key);
      const openedAt = this.opened.get(view.key);
      if (openedAt === undefined) continue;
      this.opened.delete(view.key);
      this.past.push({ view, openedAt, resolvedAt: view.since });
    }
  }

  /** The incidents that opened and resolved in the backlog, oldest first; each is handed out once. */
  takePast(): PastIncident[] {
    return this.past.splice(0);
  }
}
