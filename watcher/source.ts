// The source stage: follows Nginx's access log and hands each complete line on.
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
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../common/logger.js';

export interface DroppedLine {
  /** Its length when it was dropped: as soon as it passed the limit, so possibly before its end arrived. */
  bytes: number;
  /** The line's start, to say what it was without logging all of it. */
  sample: string;
}

/**
 * Where reading stopped, to resume there after a restart. The fingerprint is
 * the sha1 of the file's first `fingerprintBytes` bytes: min(size, 256) when
 * the file was opened or first grew, taken again once when a smaller file
 * reaches 256 bytes. Nginx's first line starts with a time and a random
 * request id, so 256 bytes tell two log files apart across renames.
 */
export interface SourcePosition {
  /** sha1 hex of the file's first `fingerprintBytes` bytes: identifies the file across renames and restarts. */
  fingerprint: string;
  /** min(file size, 256) when taken; > 0. */
  fingerprintBytes: number;
  /** Byte offset just after the last line handed to onLine/onDroppedLine. */
  offset: number;
}

export interface SourceOptions {
  path: string;
  pollIntervalMs: number;
  maxLineBytes: number;
  logger: Logger;
  onLine(line: string): void;
  onDroppedLine(dropped: DroppedLine): void;
  /**
   * Where a previous run stopped. When the file at `path` is still that file
   * (same fingerprint, at least `offset` bytes) reading resumes there, so lines
   * written while the watcher was down are read; otherwise it was rotated,
   * replaced or truncated meanwhile and is read from its start. Without it, a
   * file present at start is read from its end.
   */
  start?: SourcePosition;
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
  /** Whether inotify can end a poll's sleep early; false: polling only. */
  changeHints: boolean;
}

export interface Source {
  /** Ends after the read in progress; lines already read have been handed on. */
  stop(): Promise<void>;
  status(): SourceStatus;
  /**
   * Just after the last line handed on, in the file being followed: exact
   * inside onLine/onDroppedLine. Undefined while waiting for the file or while
   * it is empty. While an over-long line is being skipped, its start: a
   * restart reports it again rather than read its tail as a line.
   */
  position(): SourcePosition | undefined;
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
    position: () => follower.position(),
  };
}

const LF = 0x0a;
const CR = 0x0d;
// Fewer, larger reads: one syscall per READ_BYTES. The buffer also holds an
// unfinished line of up to maxLineBytes, so memory stays bounded by both.
const READ_BYTES = 256 * 1024;
// Lines are handed on synchronously; yielding between reads keeps the event
// loop (health server, Slack) responsive. Past this many bytes in one poll the
// rotation checks run before reading on, so a writer that never pauses cannot
// hide a rotation.
const MAX_BYTES_PER_POLL = 4 * 1024 * 1024;
// A change hint starts a poll at once, unless one started less than this
// long ago: a busy writer's many small writes then cost one poll per gap,
// however many lines arrive, and a line after a quiet spell is read at once.
const HINT_GAP_MS = 20;
// Lines are decoded a piece of this size at a time (see LineReader.split).
const PIECE_BYTES = 64 * 1024;
const SAMPLE_BYTES = 120;
const FINGERPRINT_BYTES = 256;

interface Fingerprint {
  hex: string;
  bytes: number;
}

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
  // Only a file present at start holds history; one that appears later (or
  // replaces a rotated one) holds nothing but lines written since.
  private startAtEnd = true;
  private announcedWaiting = false;
  private rotationPending = false;
  private rotations = 0;
  private truncations = 0;
  private lastError: string | undefined;
  private stopped = false;
  // A change was seen since the current poll began: sleep only until HINT_GAP_MS after it began.
  private hinted = false;
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
      let caughtUp = true;
      try {
        caughtUp = await this.poll();
        this.lastError = undefined;
      } catch (err) {
        this.reportError(err as NodeJS.ErrnoException);
      }
      if (caughtUp && !this.stopped) await this.sleep();
    }
    this.hints.close();
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
      changeHints: this.hints.armed,
    };
  }

  position(): SourcePosition | undefined {
    const fingerprint = this.file?.fingerprint;
    if (fingerprint === undefined) return undefined;
    return { fingerprint: fingerprint.hex, fingerprintBytes: fingerprint.bytes, offset: this.lines.lineEnd };
  }

  /** One poll; false when it stopped reading before the end of the file. */
  private async poll(): Promise<boolean> {
    if (this.file === undefined) return this.openIfPresent();
    const file = this.file;
    const { size } = await file.handle.stat();
    if (size < this.offset) this.restartTruncated(file, size);
    await takeFingerprint(file, size);
    const caughtUp = await this.read(file, size);
    await this.checkRotation(file);
    return caughtUp;
  }

  private async openIfPresent(): Promise<boolean> {
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
      this.offset = await this.startOffset(file, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.file = file;
    this.lines.restartAt(this.offset);
    this.announcedWaiting = false;
    this.log.info({ path: this.opts.path, offset: this.offset, size }, 'following the log file');
    return this.read(file, size);
  }

  /** Where to start reading a newly opened file; the saved position is used (or not) once. */
  private async startOffset(file: OpenFile, size: number): Promise<number> {
    const saved = this.saved;
    if (saved === undefined) {
      const offset = this.startAtEnd ? size : 0;
      this.startAtEnd = false;
      return offset;
    }
    const mismatch = await whyNotResumable(file.handle, size, saved);
    this.saved = undefined;
    this.startAtEnd = false;
    const fields = { path: this.opts.path, savedOffset: saved.offset, size };
    if (mismatch === undefined) {
      this.log.info({ ...fields, unreadBytes: size - saved.offset }, 'resuming the log file at the saved position');
      return saved.offset;
    }
    // Lines the old file got after the save are not read: it is no longer at the path.
    this.log.warn({ ...fields, reason: mismatch }, 'the saved position is not in this log file; reading it from the start');
    return 0;
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
    await this.read(file, Infinity, Infinity);
    const partial = this.lines.restartAt(0);
    if (partial > 0) this.log.warn({ bytes: partial }, 'rotated log file ended inside a line; dropped its last bytes');
    this.file = undefined;
    this.rotationPending = false;
    await file.handle.close();
    await this.openIfPresent();
  }

  /** Reads up to `size` (what the last stat saw) or, if Infinity, until a read finds nothing. */
  private async read(file: OpenFile, size: number, budget = MAX_BYTES_PER_POLL): Promise<boolean> {
    let readNow = 0;
    while (this.offset < size) {
      if (readNow >= budget) return false;
      const { bytesRead } = await file.handle.read(this.lines.buffer, this.lines.held, READ_BYTES, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      readNow += bytesRead;
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
      const afterGap = () => Math.max(0, this.polledAt + HINT_GAP_MS - performance.now());
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

/**
 * inotify on the log's directory, as a hint only. The directory rather than
 * the file: it sees the file appear, grow, be truncated or renamed, and the
 * rotated file still being written, with one watch. Where it cannot be had
 * (inotify limits, an unsupported filesystem, no directory yet) the poll does
 * the job alone; the failure is logged once.
 */
class ChangeHints {
  private watcher: FSWatcher | undefined;
  private lastFailure: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly onChange: (name: string | null) => void,
  ) {}

  get armed(): boolean {
    return this.watcher !== undefined;
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

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Takes the file's fingerprint once it has a byte, and again once when it reaches FINGERPRINT_BYTES. */
async function takeFingerprint(file: OpenFile, size: number): Promise<void> {
  const have = file.fingerprint?.bytes ?? 0;
  if (have >= FINGERPRINT_BYTES || size <= have) return;
  file.fingerprint = await fingerprintOf(file.handle, Math.min(size, FINGERPRINT_BYTES));
}

async function fingerprintOf(handle: FileHandle, bytes: number): Promise<Fingerprint | undefined> {
  const head = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(head, 0, bytes, 0);
  if (bytesRead === 0) return undefined;
  return { hex: createHash('sha1').update(head.subarray(0, bytesRead)).digest('hex'), bytes: bytesRead };
}

/** Why `saved` does not describe the file open in `handle`, or undefined when it does. */
async function whyNotResumable(handle: FileHandle, size: number, saved: SourcePosition): Promise<string | undefined> {
  const { fingerprintBytes: bytes, offset } = saved;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > FINGERPRINT_BYTES || !Number.isSafeInteger(offset) || offset < 0) {
    return 'invalid saved position';
  }
  if (size < bytes) return 'shorter than its saved fingerprint: replaced or truncated';
  if ((await fingerprintOf(handle, bytes))?.hex !== saved.fingerprint) return 'its first bytes differ: rotated or replaced';
  if (size < offset) return 'shorter than the saved offset: truncated';
  return undefined;
}

/**
 * Bytes in, lines out (LF or CRLF, UTF-8), with the file offset just after
 * each. Reads land in `buffer` after the unfinished line it holds (`held`
 * bytes), so a line is never copied more than once. A line longer than `max`
 * is reported as soon as it is, and the rest of it skipped through its
 * newline: a runaway line costs no more memory than a long one.
 */
class LineReader {
  readonly buffer: Buffer;
  /** Bytes of the unfinished line at the start of `buffer`. */
  held = 0;
  /** File offset just after the last line handed on (or skipped to its end). */
  lineEnd = 0;
  // File offset of buffer[0].
  private base = 0;
  // Bytes of the over-long line being skipped, or -1 when not skipping.
  private skipped = -1;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: string) => void,
    private readonly onDropped: (dropped: DroppedLine) => void,
  ) {
    this.buffer = Buffer.allocUnsafe(max + READ_BYTES);
  }

  /** Forgets any unfinished line and continues at `offset`; returns the bytes forgotten. */
  restartAt(offset: number): number {
    const forgotten = this.skipped >= 0 ? this.skipped : this.held;
    this.held = 0;
    this.skipped = -1;
    this.base = offset;
    this.lineEnd = offset;
    return forgotten;
  }

  /** Hands on the lines completed by `count` bytes just read into buffer[held...]. */
  push(count: number): void {
    const data = this.buffer.subarray(0, this.held + count);
    let start = 0;
    if (this.skipped >= 0) {
      const nl = data.indexOf(LF);
      if (nl === -1) {
        this.skipped += count;
        this.base += count;
        return;
      }
      this.skipped = -1;
      this.lineEnd = this.base + nl + 1;
      start = nl + 1;
    }
    const last = data.lastIndexOf(LF);
    if (last >= start) {
      this.split(data, start, last);
      start = last + 1;
    }
    const rest = data.length - start;
    if (rest > this.max) {
      this.onDropped({ bytes: rest, sample: data.toString('utf8', start, start + SAMPLE_BYTES) });
      this.skipped = rest;
      this.held = 0;
      this.base += data.length;
      return;
    }
    if (start > 0) data.copy(this.buffer, 0, start);
    this.held = rest;
    this.base += start;
  }

  // Lines are decoded a piece at a time rather than one by one: one string
  // per piece, each line a slice of it (so whatever keeps a line keeps its
  // piece, at most PIECE_BYTES, alive). Nginx's escape=default keeps the log
  // ASCII, where a byte is a character and latin1 decodes fastest; any other
  // piece is decoded line by line as UTF-8 (LF never occurs inside a UTF-8
  // sequence, so cutting at LF is safe either way). Pieces stay under V8's
  // large-object size (128 KB), where strings cost several times more.
  private split(data: Buffer, start: number, last: number): void {
    while (start <= last) {
      let end = data.lastIndexOf(LF, Math.min(last, start + PIECE_BYTES));
      if (end < start) end = data.indexOf(LF, start + PIECE_BYTES);
      if (isAscii(data.subarray(start, end))) this.asciiLines(data.toString('latin1', start, end), this.base + start);
      else this.utf8Lines(data, start, end);
      start = end + 1;
    }
  }

  /** `text` ends just before an LF; `at` is its file offset. */
  private asciiLines(text: string, at: number): void {
    for (let from = 0; ; ) {
      let nl = text.indexOf('\n', from);
      if (nl === -1) nl = text.length;
      this.lineEnd = at + nl + 1;
      if (nl - from > this.max) {
        this.onDropped({ bytes: nl - from, sample: text.slice(from, from + SAMPLE_BYTES) });
      } else {
        const end = nl > from && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
        if (end > from) this.onLine(text.slice(from, end));
      }
      if (nl === text.length) return;
      from = nl + 1;
    }
  }

  private utf8Lines(data: Buffer, start: number, last: number): void {
    for (let from = start; from <= last; ) {
      const nl = data.indexOf(LF, from);
      this.lineEnd = this.base + nl + 1;
      if (nl - from > this.max) {
        this.onDropped({ bytes: nl - from, sample: data.toString('utf8', from, Math.min(nl, from + SAMPLE_BYTES)) });
      } else {
        const end = nl > from && data[nl - 1] === CR ? nl - 1 : nl;
        if (end > from) this.onLine(data.toString('utf8', from, end));
      }
      from = nl + 1;
    }
  }
}
