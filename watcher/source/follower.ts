// The source stage's loop: follows Nginx's access log and hands each complete
// line on (bytes become lines in lineReader.ts).
//
// It reads through its own file descriptor at its own offset, checking with
// fstat/stat every LOG_POLL_INTERVAL_MS: inotify misses writes made through
// Docker volumes on some hosts, and a stat poll sees every filesystem. One
// loop rather than fs.watchFile, so each poll's read and its truncation and
// rotation checks run in order and never overlap. Where inotify works, a
// change in the log's directory ends the sleep early (ChangeHints): an alert
// then waits milliseconds for its line rather than half a poll interval, and
// correctness never depends on it.
//
// Why not the `tail` package it started with: test/watcher/edges/source.test.ts
// pins what tail 2.2.6 does. In polling mode it reads each range by path and
// takes it from fs.watchFile's (prev.size, curr.size), not from its own cursor,
// so after a rename the new file's first bytes (up to the old size, or until
// the next poll) are never read, nor are the old file's last lines, and after
// a copy-truncate the first write is skipped. A wrapper cannot repair this by
// restarting a Tail: a new one starts at the end (skipping what the new file
// holds already) or at the beginning, and then the seam between its first read
// and the watcher's first stat loses the lines written in between (3 runs in 5
// lost 82 to 1464 lines under a busy writer). Its line buffer is also unbounded
// (an 8 MB line took 0.8 s and 130 MB of RSS) and it throws if the file is
// missing. What it does well (start at the end, follow appends, hold a partial
// line) is what this reader must do anyway after a rotation, so keeping it
// would mean two readers and that lossy seam between them.
import { fstatSync, readSync, statSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { ChangeHints } from './changeHints.js';
import { takeFingerprint, type Fingerprint } from './fingerprint.js';
import { LineReader, READ_BYTES } from './lineReader.js';
import { openIfExists, resumeFiles, type ResumeFile } from './resume.js';
import type { Source, SourceOptions, SourcePosition, SourceStatus } from './types.js';

export function startSource(opts: SourceOptions): Source {
  const follower = new LogFollower(opts);
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
// A change hint starts a poll at once, unless one started less than this
// long ago: a line after a quiet spell is read at once, and a burst of writes
// costs one poll.
const HINT_GAP_MS = 20;
// A busy reader (see BUSY_POLLS) looks again this long after each poll began,
// taking whatever gathered meanwhile in one read. Wake-ups, not lines, are its
// cost: each costs 0.15-0.3 ms of CPU on a VM (an empty Node timer included),
// so at 5,000 lines/s 20 ms between polls cost 28 ms of CPU a second and 100
// ms 19 (docs/performance.md). A line waits at most this long more, well
// inside the alert's 300 ms p99.
const BUSY_GAP_MS = 100;
// How long a rotated file must stay unchanged, once the new one has a line,
// before it is closed: every Nginx worker reopens its log on its own (one per
// core), and a line the last one wrote to the old file after that would be lost.
const ROTATION_QUIET_MS = 200;
// Polls in a row that found lines before the change hints pause: a steady
// writer, not one line now and then (pausing and watching again costs more
// than the hints a sparse writer raises).
const BUSY_POLLS = 3;

interface OpenFile {
  handle: FileHandle;
  dev: number;
  ino: number;
  fingerprint: Fingerprint | undefined;
}

class LogFollower {
  private readonly log: Logger;
  private readonly lines: LineReader;
  private readonly hints: ChangeHints;
  private readonly name: string;
  private file: OpenFile | undefined;
  /** Next byte to read; the reader's lineEnd trails it by the unfinished line. */
  private offset = 0;
  private saved: SourcePosition | undefined;
  /** Files opened at start (resume.ts), to read after the current one, oldest first. */
  private queued: ResumeFile[] = [];
  // Only a file present at start holds history; one that appears later (or
  // replaces a rotated one) holds nothing but lines written since.
  private startAtEnd = true;
  private announcedWaiting = false;
  private caughtUpOnce = false;
  private rotationPending = false;
  private rotations = 0;
  private truncations = 0;
  /** The size of the file followed, at the last stat. */
  private size = 0;
  private lastLineAt = 0;
  private lastError: string | undefined;
  private stopped = false;
  // A change was seen since the current poll began: sleep only until HINT_GAP_MS after it began.
  private hinted = false;
  /** Bytes the current poll has read, and how many polls in a row read some: a busy writer (see run()). */
  private readThisPoll = 0;
  private busyPolls = 0;
  /** While a rotated file is being finished: since when it has not grown. */
  private oldFileQuietSince: number | undefined;
  private polledAt = 0;
  private wake: (() => void) | undefined;
  private wakeSoon: (() => void) | undefined;

  constructor(private readonly opts: SourceOptions) {
    this.log = opts.logger.child({ component: 'source' });
    this.lines = new LineReader(opts.maxLineBytes, opts.onLine, opts.onDroppedLine);
    this.saved = opts.start;
    this.name = basename(opts.path);
    this.hints = new ChangeHints(dirname(opts.path), this.log, (name) => this.onChange(name));
  }

  async run(): Promise<void> {
    this.hints.arm();
    while (!this.stopped) {
      this.hinted = false;
      this.polledAt = performance.now();
      this.readThisPoll = 0;
      let caughtUp = true;
      try {
        caughtUp = await this.poll();
        this.lastError = undefined;
        if (caughtUp && !this.caughtUpOnce && this.queued.length === 0 && !this.rotationPending) {
          this.caughtUpOnce = true;
          this.opts.onCaughtUp?.();
        }
      } catch (err) {
        this.reportError(err as NodeJS.ErrnoException);
      }
      if (!caughtUp || this.stopped) continue;
      this.busyPolls = this.readThisPoll > 0 ? this.busyPolls + 1 : 0;
      if (this.busyPolls >= BUSY_POLLS) {
        // Busy: look again BUSY_GAP_MS after this poll began, without a
        // callback per write meanwhile.
        this.hints.pause();
        this.hinted = true;
      } else if (this.hints.paused && this.readThisPoll === 0) {
        // Quiet again: watch, then look once more, since a write that came
        // between this poll and the watch raised no event.
        this.hints.resume();
        continue;
      }
      // A rotated file waiting out its quiet time is looked at again as soon as a busy one.
      if (this.oldFileQuietSince !== undefined) this.hinted = true;
      await this.sleep();
    }
    this.hints.close();
    await this.file?.handle.close();
    await Promise.all(this.queued.map((f) => f.handle.close()));
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  status(): SourceStatus {
    return {
      state: this.file === undefined ? 'waiting' : 'following',
      path: this.opts.path,
      offset: this.offset,
      rotationPending: this.rotationPending,
      rotations: this.rotations,
      truncations: this.truncations,
      behindBytes: this.file === undefined ? 0 : Math.max(0, this.size - this.offset),
      lastLineAt: this.lastLineAt,
      changeHints: this.hints.armed,
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }

  position(): SourcePosition | undefined {
    const fingerprint = this.file?.fingerprint;
    if (fingerprint === undefined) return undefined;
    return { fingerprint: fingerprint.hex, fingerprintBytes: fingerprint.bytes, offset: this.lines.lineEnd };
  }

  /**
   * One poll; false when it stopped reading before the end of the file. Its
   * stat, reads and rotation check are synchronous: on a local file each takes
   * microseconds, while a trip through libuv's thread pool cost ~0.3 ms of CPU
   * apiece in the stack, 50 polls a second under load.
   */
  private async poll(): Promise<boolean> {
    if (this.file === undefined) return this.openIfPresent();
    const file = this.file;
    const { size } = fstatSync(file.handle.fd);
    if (size < this.offset) this.restartTruncated(file, size);
    await takeFingerprint(file, size);
    const caughtUp = this.read(file, size);
    await this.checkRotation(file, caughtUp);
    return caughtUp;
  }

  /** Opens the next file: one queued at start, else the one at the path, if there is one. */
  private async openIfPresent(): Promise<boolean> {
    if (this.saved !== undefined) {
      this.queued = await resumeFiles(this.opts.path, this.saved, this.log);
      this.saved = undefined;
      this.startAtEnd = false;
    }
    const next = this.queued.shift();
    if (next !== undefined) return this.follow(next.handle, next.path, next.offset, next.rotated);
    const opened = await openIfExists(this.opts.path);
    const startAtEnd = this.startAtEnd;
    this.startAtEnd = false;
    if (opened === undefined) {
      if (!this.announcedWaiting) this.log.info({ path: this.opts.path }, 'waiting for the log file to appear');
      this.announcedWaiting = true;
      return true;
    }
    return this.follow(opened.handle, this.opts.path, startAtEnd ? opened.size : 0, false);
  }

  /** `offset` is at most the file's size; `rotated`: no longer at the path, so to be finished. */
  private async follow(handle: FileHandle, path: string, offset: number, rotated: boolean): Promise<boolean> {
    // Before the first read, so no change after it goes unnoticed; a new
    // file, perhaps in a re-created directory, gets a fresh watch.
    this.hints.arm();
    let file: OpenFile;
    let size: number;
    try {
      const st = await handle.stat();
      file = { handle, dev: st.dev, ino: st.ino, fingerprint: undefined };
      size = st.size;
      await takeFingerprint(file, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.file = file;
    this.offset = offset;
    this.rotationPending = rotated;
    this.lines.restartAt(offset);
    this.announcedWaiting = false;
    this.log.info({ path, offset, size }, rotated ? 'finishing a rotated log file' : 'following the log file');
    return this.read(file, size);
  }

  // Copy-truncate: same file, now shorter than what was read. Lines written
  // between logrotate's copy and its truncate are in the copy only; a truncate
  // followed by more than `offset` bytes within one poll cannot be told from
  // growth by any stat-based follower.
  private restartTruncated(file: OpenFile, size: number): void {
    this.log.warn({ path: this.opts.path, offset: this.offset, size }, 'log file truncated; reading it from the start');
    this.truncations++;
    this.offset = 0;
    this.lines.restartAt(0);
    file.fingerprint = undefined;
  }

  private async checkRotation(file: OpenFile, caughtUp: boolean): Promise<void> {
    const current = statIfExists(this.opts.path);
    if (current !== undefined && current.dev === file.dev && current.ino === file.ino) return;
    if (!this.rotationPending) {
      this.log.info({ path: this.opts.path }, 'log file rotated; finishing the old one');
      this.rotationPending = true;
      this.rotations++;
    }
    // Not before the poll's bounded reads have caught up: a rotated file found
    // at start may hold megabytes, read MAX_BYTES_PER_POLL at a time between
    // yields rather than in one unbounded read.
    if (!caughtUp) return;
    // One found at start with a newer rotated file after it: its writer has long moved on.
    if (this.queued[0]?.rotated === true) return this.finish(file);
    // Nginx appends to the old file until it reopens its log, and its first
    // write to the new file proves that one worker has. The others reopen
    // within milliseconds, writing to the old file until then: it is complete
    // once it has not grown for ROTATION_QUIET_MS after that first write.
    if (current === undefined || current.size === 0) return;
    const before = this.offset;
    this.read(file, Infinity, Infinity);
    const now = performance.now();
    if (this.offset !== before || this.oldFileQuietSince === undefined) this.oldFileQuietSince = now;
    if (now - this.oldFileQuietSince < ROTATION_QUIET_MS) return;
    this.oldFileQuietSince = undefined;
    await this.finish(file);
  }

  private async finish(file: OpenFile): Promise<void> {
    const partial = this.lines.restartAt(0);
    if (partial > 0) this.log.warn({ bytes: partial }, 'rotated log file ended inside a line; dropped its last bytes');
    this.file = undefined;
    this.rotationPending = false;
    await file.handle.close();
    await this.openIfPresent();
  }

  /** Reads up to `size` (what the last stat saw) or, if Infinity, until a read finds nothing. */
  private read(file: OpenFile, size: number, budget = MAX_BYTES_PER_POLL): boolean {
    if (Number.isFinite(size)) this.size = size;
    let readNow = 0;
    while (this.offset < size) {
      if (readNow >= budget) return false;
      const bytesRead = readSync(file.handle.fd, this.lines.buffer, this.lines.held, READ_BYTES, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      readNow += bytesRead;
      this.readThisPoll += bytesRead;
      // Once per read of up to READ_BYTES, not per line: a clock read per line would show in the profile.
      this.lastLineAt = Date.now();
      this.lines.push(bytesRead);
    }
    return true;
  }

  private reportError(err: NodeJS.ErrnoException): void {
    const message = err.message;
    if (message === this.lastError) return;
    this.lastError = message;
    this.log.error({ path: this.opts.path, code: err.code, error: message }, 'cannot read the log file; retrying');
  }

  /** A change in the log's directory: ours, or any file's while the rotated one is being finished. */
  private onChange(name: string | null): void {
    if (name !== null && name !== this.name && !this.rotationPending) return;
    this.hinted = true;
    this.wakeSoon?.();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.wakeSoon = undefined;
        resolve();
      };
      const gap = this.hints.paused ? BUSY_GAP_MS : HINT_GAP_MS;
      const afterGap = () => Math.max(0, this.polledAt + gap - performance.now());
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
}

function statIfExists(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}
