// When the source looks at the log again: the file server's half of the loop.
//
// A stat poll every LOG_POLL_INTERVAL_MS is the safety net: inotify misses
// writes made through Docker volumes on some hosts, and a stat poll sees
// every filesystem. One loop rather than fs.watchFile, so each poll's read
// and its truncation and rotation checks run in order and never overlap.
// Where inotify works, a change in the log's directory ends the sleep early
// (ChangeHints): an alert then waits milliseconds for its line rather than
// half a poll interval, and correctness never depends on it.
import type { Logger } from '../../common/logger.js';
import { ChangeHints } from './changeHints.js';

// A change hint starts a poll at once, unless one started less than this
// long ago: a line after a quiet spell is read at once, and a burst of writes
// costs one poll.
export const HINT_GAP_MS = 20;
// A busy reader (see BUSY_POLLS) looks again this long after each poll began,
// taking whatever gathered meanwhile in one read. Wake-ups, not lines, are its
// cost: each costs 0.15-0.3 ms of CPU on a VM (an empty Node timer included),
// so at 5,000 lines/s 20 ms between polls cost 28 ms of CPU a second and 100
// ms 19 (docs/performance.md). A line waits at most this long more, well
// inside the alert's 300 ms p99.
export const BUSY_GAP_MS = 100;
// Polls in a row that found lines before the change hints pause: a steady
// writer, not one line now and then (pausing and watching again costs more
// than the hints a sparse writer raises).
export const BUSY_POLLS = 3;

export interface ScheduleOptions {
  /** The log's directory, watched for hints. */
  dir: string;
  pollIntervalMs: number;
  log: Logger;
  /** Monotonic ms: gaps must not stretch or vanish when the wall clock is stepped. */
  monotonic: () => number;
  /** Whether a change to this directory entry (null: unnamed) is one worth waking for. */
  concerns(name: string | null): boolean;
}

export class PollSchedule {
  private readonly hints: ChangeHints;
  // A change was seen since the current poll began: sleep only until the gap after it began.
  private hinted = false;
  private polledAt = 0;
  /** Polls in a row that read something: a busy writer. */
  private busyPolls = 0;
  private wake: (() => void) | undefined;
  private wakeSoon: (() => void) | undefined;

  constructor(private readonly opts: ScheduleOptions) {
    this.hints = new ChangeHints(opts.dir, opts.log, (name) => {
      if (opts.concerns(name)) this.hint();
    });
  }

  /** Whether a change can end a sleep early. */
  get armed(): boolean {
    return this.hints.armed;
  }

  /** Watches afresh: before a new file's first read, so no change after it goes unnoticed, even in a re-created directory. */
  watch(): void {
    this.hints.arm();
  }

  beginPoll(): void {
    this.hinted = false;
    this.polledAt = this.opts.monotonic();
  }

  /**
   * After a poll that read all there was, `bytesRead` of it; `soon`: a reason
   * to look again within the gap rather than the interval. False: poll again
   * at once, since hints were just resumed and a write between that poll and
   * the watch raised no event.
   */
  shouldSleep(bytesRead: number, soon: boolean): boolean {
    this.busyPolls = bytesRead > 0 ? this.busyPolls + 1 : 0;
    if (this.busyPolls >= BUSY_POLLS) {
      // Busy: look again BUSY_GAP_MS after this poll began, without a
      // callback per write meanwhile.
      this.hints.pause();
      this.hinted = true;
    } else if (this.hints.paused && bytesRead === 0) {
      this.hints.resume();
      return false;
    }
    if (soon) this.hinted = true;
    return true;
  }

  sleep(): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.wakeSoon = undefined;
        resolve();
      };
      const gap = this.hints.paused ? BUSY_GAP_MS : HINT_GAP_MS;
      const afterGap = () => Math.max(0, this.polledAt + gap - this.opts.monotonic());
      let timer = setTimeout(finish, this.hinted ? afterGap() : this.opts.pollIntervalMs);
      this.wake = finish;
      if (this.hinted) return;
      this.wakeSoon = () => {
        this.wakeSoon = undefined;
        clearTimeout(timer);
        timer = setTimeout(finish, afterGap());
      };
    });
  }

  /** Ends a sleep now: the loop is stopping. */
  interrupt(): void {
    this.wake?.();
  }

  close(): void {
    this.hints.close();
  }

  private hint(): void {
    this.hinted = true;
    this.wakeSoon?.();
  }
}
