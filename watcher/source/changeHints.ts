import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../common/logger.js';

/**
 * inotify on the log's directory, as a hint only. The directory rather than
 * the file: it sees the file appear, grow, be truncated or renamed, and the
 * rotated file still being written, with one watch. Where it cannot be had
 * (inotify limits, an unsupported filesystem, no directory yet) the poll does
 * the job alone; the failure is logged once.
 */
export class ChangeHints {
  private watcher: FSWatcher | undefined;
  private lastFailure: string | undefined;
  private suspended = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly onChange: (name: string | null) => void,
  ) {}

  /** Whether a change can end a poll's sleep early: watching, or paused while busy. */
  get armed(): boolean {
    return this.watcher !== undefined || this.suspended;
  }

  get paused(): boolean {
    return this.suspended;
  }

  /**
   * Stops watching while the reader is busy: every write is an event, and a
   * callback per write (one per request, for Nginx) was the reader's largest
   * cost under load, though the next poll is due within milliseconds anyway.
   */
  pause(): void {
    if (this.watcher === undefined) return;
    this.close();
    this.suspended = true;
  }

  /** Watches again, once the reader has caught up and will sleep. */
  resume(): void {
    if (this.suspended) this.arm();
  }

  arm(): void {
    this.close();
    try {
      const watcher = watch(this.dir, { persistent: false }, (_event, name) => this.onChange(name));
      watcher.on('error', (err) => {
        if (this.watcher === watcher) this.close();
        this.failed(err as NodeJS.ErrnoException);
      });
      this.watcher = watcher;
    } catch (err) {
      this.failed(err as NodeJS.ErrnoException);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.suspended = false;
  }

  private failed(err: NodeJS.ErrnoException): void {
    const failure = err.code ?? err.message;
    if (failure === this.lastFailure) return;
    this.lastFailure = failure;
    this.log.warn(
      { dir: this.dir, code: err.code, error: err.message },
      'cannot watch the log directory for changes; polling only',
    );
  }
}
