// The source stage's loop: follows Nginx's access log and hands each complete
// line on. Split as Vector splits its file source: pollSchedule.ts says when
// to look again, fileWatcher.ts reads one file (offset, truncation, rotation),
// fileQueue.ts says which file comes next (a saved position, else the path),
// lineReader.ts turns bytes into lines. What is left here is the order of a
// poll, and the counts and errors the status reports.
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { FileQueue } from './fileQueue.js';
import { FileWatcher } from './fileWatcher.js';
import { LineReader } from './lineReader.js';
import { PollSchedule } from './pollSchedule.js';
import type { Source, SourceOptions, SourcePosition, SourceStatus } from './types.js';

export function startSource(opts: SourceOptions): Source {
  const follower = new LogFollower(opts, { monotonic: () => performance.now(), wall: Date.now });
  const done = follower.run();
  return {
    async stop() {
      follower.stop();
      await done;
    },
    status: () => follower.status(),
    position: () => follower.position(),
  };
}

// Lines are handed on synchronously; yielding between reads keeps the event
// loop (health server, Slack) responsive. Past this many bytes in one poll the
// rotation checks run before reading on, so a writer that never pauses cannot
// hide a rotation.
const MAX_BYTES_PER_POLL = 4 * 1024 * 1024;

interface Clocks {
  /** For durations: the quiet time of a rotated file, the gaps between polls. */
  monotonic: () => number;
  /** For the timestamps the status reports. */
  wall: () => number;
}

class LogFollower {
  private readonly log: Logger;
  private readonly lines: LineReader;
  private readonly queue: FileQueue;
  private readonly schedule: PollSchedule;
  private file: FileWatcher | undefined;
  /** The last file's offset, still reported while waiting for the next. */
  private offset = 0;
  private rotations = 0;
  private truncations = 0;
  private readThisPoll = 0;
  private lastLineAt = 0;
  private lastError: string | undefined;
  private caughtUpOnce = false;
  private stopped = false;

  constructor(
    private readonly opts: SourceOptions,
    private readonly clocks: Clocks,
  ) {
    this.log = opts.logger.child({ component: 'source' });
    this.lines = new LineReader(opts.maxLineBytes, opts.onLine, opts.onDroppedLine);
    this.queue = new FileQueue(opts.path, opts.start, this.log);
    const name = basename(opts.path);
    this.schedule = new PollSchedule({
      dir: dirname(opts.path),
      pollIntervalMs: opts.pollIntervalMs,
      log: this.log,
      monotonic: clocks.monotonic,
      // While a rotated file is being finished, a change to any file may be its writer's.
      concerns: (changed) => changed === null || changed === name || this.file?.rotated === true,
    });
  }

  async run(): Promise<void> {
    this.schedule.watch();
    while (!this.stopped) {
      this.schedule.beginPoll();
      this.readThisPoll = 0;
      let caughtUp = true;
      try {
        caughtUp = await this.poll();
        this.lastError = undefined;
        if (caughtUp && !this.caughtUpOnce && !this.queue.pending && this.file?.rotated !== true) {
          this.caughtUpOnce = true;
          this.opts.onCaughtUp?.();
        }
      } catch (err) {
        this.reportError(err as NodeJS.ErrnoException);
      }
      if (!caughtUp || this.stopped) continue;
      if (this.schedule.shouldSleep(this.readThisPoll, this.file?.settling === true)) await this.schedule.sleep();
    }
    this.schedule.close();
    await this.file?.close();
    await this.queue.close();
  }

  stop(): void {
    this.stopped = true;
    this.schedule.interrupt();
  }

  status(): SourceStatus {
    const file = this.file;
    return {
      state: file === undefined ? 'waiting' : 'following',
      path: this.opts.path,
      offset: file?.offset ?? this.offset,
      rotationPending: file?.rotated ?? false,
      rotations: this.rotations,
      truncations: this.truncations,
      behindBytes: file === undefined ? 0 : Math.max(0, file.size - file.offset),
      lastLineAt: this.lastLineAt,
      changeHints: this.schedule.armed,
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }

  position(): SourcePosition | undefined {
    return this.file?.position();
  }

  /** One poll; false when it stopped reading before the end of the file. */
  private async poll(): Promise<boolean> {
    const file = this.file;
    if (file === undefined) return this.openNext();
    const truncatedAt = await file.look();
    if (truncatedAt !== undefined) {
      this.log.warn({ path: this.opts.path, offset: truncatedAt, size: file.size }, 'log file truncated; reading it from the start');
      this.truncations++;
    }
    const caughtUp = file.read(MAX_BYTES_PER_POLL);
    const current = statSync(this.opts.path, { throwIfNoEntry: false });
    if (file.isAt(current)) return caughtUp;
    if (file.markRotated()) {
      this.log.info({ path: this.opts.path }, 'log file rotated; finishing the old one');
      this.rotations++;
    }
    // Not before the poll's bounded reads have caught up: a rotated file found
    // at start may hold megabytes, read MAX_BYTES_PER_POLL at a time between
    // yields rather than in one unbounded read.
    if (caughtUp && file.finished(current, this.queue.newerRotatedQueued, this.clocks.monotonic())) {
      await this.finish(file);
    }
    return caughtUp;
  }

  private async openNext(): Promise<boolean> {
    const next = await this.queue.next();
    if (next === undefined) return true;
    this.schedule.watch();
    const file = await FileWatcher.open(next.handle, next.offset, next.rotated, this.lines, (bytes) => this.onRead(bytes));
    this.file = file;
    this.log.info(
      { path: next.path, offset: next.offset, size: file.size },
      next.rotated ? 'finishing a rotated log file' : 'following the log file',
    );
    return file.read(MAX_BYTES_PER_POLL);
  }

  private async finish(file: FileWatcher): Promise<void> {
    this.offset = file.offset;
    this.file = undefined;
    const partial = await file.finish();
    if (partial > 0) this.log.warn({ bytes: partial }, 'rotated log file ended inside a line; dropped its last bytes');
    await this.openNext();
  }

  private onRead(bytes: number): void {
    this.readThisPoll += bytes;
    // Once per read of up to READ_BYTES, not per line: a clock read per line would show in the profile.
    this.lastLineAt = this.clocks.wall();
  }

  private reportError(err: NodeJS.ErrnoException): void {
    const message = err.message;
    if (message === this.lastError) return;
    this.lastError = message;
    this.log.error({ path: this.opts.path, code: err.code, error: message }, 'cannot read the log file; retrying');
  }
}
