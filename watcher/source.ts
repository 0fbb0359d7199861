// The source stage: follows Nginx's access log and hands each complete line on.
//
// It reads through its own file descriptor at its own offset, polling with
// fstat/stat every LOG_POLL_INTERVAL_MS: inotify misses writes made through
// Docker volumes on some hosts, and a stat poll sees every filesystem. One
// loop rather than fs.watchFile, so each poll's read and its truncation and
// rotation checks run in order and never overlap.
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
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { Logger } from '../common/logger.js';

export interface DroppedLine {
  bytes: number;
  /** The line's start, to say what it was without logging all of it. */
  sample: string;
}

export interface SourceOptions {
  path: string;
  pollIntervalMs: number;
  maxLineBytes: number;
  logger: Logger;
  onLine(line: string): void;
  onDroppedLine(dropped: DroppedLine): void;
}

export interface SourceStatus {
  state: 'waiting' | 'following';
  path: string;
  /** Bytes read so far from the file being followed. */
  offset: number;
  /** The path names a new file and the old one is still being finished. */
  rotationPending: boolean;
  rotations: number;
  truncations: number;
}

export interface Source {
  /** Ends after the read in progress; lines already read have been handed on. */
  stop(): Promise<void>;
  status(): SourceStatus;
}

export function startSource(opts: SourceOptions): Source {
  const follower = new LogFollower(opts);
  const done = follower.run();
  return {
    async stop() {
      follower.stop();
      await done;
    },
    status: () => follower.status(),
  };
}

const LF = 0x0a;
const CR = 0x0d;
const READ_CHUNK_BYTES = 64 * 1024;
// Lines are handed on synchronously; yielding between chunks keeps the event
// loop (health server, Slack) responsive. Past this many bytes in one poll the
// rotation checks run before reading on, so a writer that never pauses cannot
// hide a rotation.
const MAX_BYTES_PER_POLL = 4 * 1024 * 1024;
const SAMPLE_BYTES = 120;

interface OpenFile {
  handle: FileHandle;
  dev: number;
  ino: number;
}

class LogFollower {
  private readonly log: Logger;
  private readonly splitter: LineSplitter;
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private file: OpenFile | undefined;
  private offset = 0;
  // Only a file present at start holds history; one that appears later (or
  // replaces a rotated one) holds nothing but lines written since.
  private startAtEnd = true;
  private announcedWaiting = false;
  private rotationPending = false;
  private rotations = 0;
  private truncations = 0;
  private lastError: string | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: SourceOptions) {
    this.log = opts.logger.child({ component: 'source' });
    this.splitter = new LineSplitter(opts.maxLineBytes, opts.onLine, opts.onDroppedLine);
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      let caughtUp = true;
      try {
        caughtUp = await this.poll();
        this.lastError = undefined;
      } catch (err) {
        this.reportError(err as NodeJS.ErrnoException);
      }
      if (caughtUp) await this.sleep();
    }
    await this.file?.handle.close();
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
    };
  }

  /** One poll; false when it stopped reading before the end of the file. */
  private async poll(): Promise<boolean> {
    if (this.file === undefined) return this.openIfPresent();
    const { size } = await this.file.handle.stat();
    if (size < this.offset) this.restartTruncated(size);
    const caughtUp = await this.read(this.file);
    await this.checkRotation(this.file);
    return caughtUp;
  }

  private async openIfPresent(): Promise<boolean> {
    const fromEnd = this.startAtEnd;
    let handle: FileHandle;
    try {
      handle = await open(this.opts.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.startAtEnd = false;
      if (!this.announcedWaiting) this.log.info({ path: this.opts.path }, 'waiting for the log file to appear');
      this.announcedWaiting = true;
      return true;
    }
    const st = await handle.stat();
    this.startAtEnd = false;
    this.file = { handle, dev: st.dev, ino: st.ino };
    this.offset = fromEnd ? st.size : 0;
    this.announcedWaiting = false;
    this.log.info({ path: this.opts.path, offset: this.offset, fromStart: !fromEnd }, 'following the log file');
    return this.read(this.file);
  }

  // Copy-truncate: same file, now shorter than what was read. Lines written
  // between logrotate's copy and its truncate are in the copy only; a truncate
  // followed by more than `offset` bytes within one poll cannot be told from
  // growth by any stat-based follower.
  private restartTruncated(size: number): void {
    this.log.warn({ path: this.opts.path, offset: this.offset, size }, 'log file truncated; reading it from the start');
    this.truncations++;
    this.offset = 0;
    this.splitter.discardPartial();
  }

  private async checkRotation(file: OpenFile): Promise<void> {
    const current = await statIfExists(this.opts.path);
    if (current !== undefined && current.dev === file.dev && current.ino === file.ino) return;
    if (!this.rotationPending) {
      this.log.info({ path: this.opts.path }, 'log file rotated; finishing the old one');
      this.rotationPending = true;
      this.rotations++;
    }
    // Nginx appends to the old file until it reopens its log, and its first
    // write to the new file proves it has: only then is the old one complete.
    if (current === undefined || current.size === 0) return;
    await this.read(file, Infinity);
    const partial = this.splitter.discardPartial();
    if (partial > 0) this.log.warn({ bytes: partial }, 'rotated log file ended inside a line; dropped its last bytes');
    this.file = undefined;
    this.rotationPending = false;
    await file.handle.close();
    await this.openIfPresent();
  }

  private async read(file: OpenFile, budget = MAX_BYTES_PER_POLL): Promise<boolean> {
    let readNow = 0;
    while (readNow < budget) {
      const { bytesRead } = await file.handle.read(this.chunk, 0, this.chunk.length, this.offset);
      if (bytesRead === 0) return true;
      this.offset += bytesRead;
      readNow += bytesRead;
      this.splitter.push(this.chunk.subarray(0, bytesRead));
    }
    return false;
  }

  private reportError(err: NodeJS.ErrnoException): void {
    const message = err.message;
    if (message === this.lastError) return;
    this.lastError = message;
    this.log.error({ path: this.opts.path, code: err.code, error: message }, 'cannot read the log file; retrying');
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.opts.pollIntervalMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Bytes in, lines out (LF or CRLF, UTF-8). Holds at most `max` bytes of an
 * unfinished line: a longer one is skipped through to its newline and
 * reported, so a runaway line costs no more memory than a long one.
 */
class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  // Bytes of the over-long line being skipped, or -1 when not skipping.
  private skippedBytes = -1;
  private skippedSample = '';

  constructor(
    private readonly max: number,
    private readonly onLine: (line: string) => void,
    private readonly onDropped: (dropped: DroppedLine) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      this.endLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    this.hold(chunk.subarray(start));
  }

  /** Forgets an unfinished line whose end will never come; returns its size in bytes. */
  discardPartial(): number {
    const bytes = this.skippedBytes >= 0 ? this.skippedBytes : this.pendingBytes;
    this.reset();
    return bytes;
  }

  private hold(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skippedBytes >= 0) {
      this.skippedBytes += piece.length;
    } else if (this.pendingBytes + piece.length > this.max) {
      this.skippedSample = sample(this.pending[0] ?? piece);
      this.skippedBytes = this.pendingBytes + piece.length;
      this.pending = [];
      this.pendingBytes = 0;
    } else {
      // A copy: the caller reuses its read buffer.
      this.pending.push(Buffer.from(piece));
      this.pendingBytes += piece.length;
    }
  }

  private endLine(last: Buffer): void {
    if (this.skippedBytes >= 0) {
      this.onDropped({ bytes: this.skippedBytes + last.length, sample: this.skippedSample });
      this.reset();
      return;
    }
    const bytes = this.pendingBytes + last.length;
    if (bytes > this.max) {
      this.onDropped({ bytes, sample: sample(this.pending[0] ?? last) });
      this.reset();
      return;
    }
    const line = this.pendingBytes === 0 ? last : Buffer.concat([...this.pending, last], bytes);
    this.reset();
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (end > 0) this.onLine(line.toString('utf8', 0, end));
  }

  private reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skippedBytes = -1;
    this.skippedSample = '';
  }
}

function sample(bytes: Buffer): string {
  return bytes.toString('utf8', 0, Math.min(bytes.length, SAMPLE_BYTES));
}
