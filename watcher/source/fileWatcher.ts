// One open log file, read through its own file descriptor at its own offset:
// what it holds, where reading stands, whether it was truncated, and when,
// once rotated, it is finished. It decides; follower.ts counts and logs.
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
//
// Its stat and reads are synchronous: on a local file each takes microseconds,
// while a trip through libuv's thread pool cost ~0.3 ms of CPU apiece in the
// stack, 50 polls a second under load.
import { fstatSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { takeFingerprint, type Fingerprint } from './fingerprint.js';
import { READ_BYTES, type LineReader } from './lineReader.js';
import type { SourcePosition } from './types.js';

// How long a rotated file must stay unchanged, once the new one has a line,
// before it is closed: every Nginx worker reopens its log on its own (one per
// core), and a line the last one wrote to the old file after that would be lost.
export const ROTATION_QUIET_MS = 200;

/** Which file a path names now, as stat sees it; undefined: none. */
export interface FileId {
  dev: number;
  ino: number;
  size: number;
}

export class FileWatcher {
  /** Next byte to read; the line reader's lineEnd trails it by the unfinished line. */
  offset: number;
  /** The file's size at the last look. */
  size: number;
  fingerprint: Fingerprint | undefined = undefined;
  /** No longer at the path: read to its end, then closed. */
  rotated: boolean;
  /** Once rotated and the new file has a line: since when (monotonic ms) this one has not grown. */
  private quietSince: number | undefined;

  private constructor(
    readonly handle: FileHandle,
    private readonly id: { dev: number; ino: number },
    size: number,
    offset: number,
    rotated: boolean,
    private readonly lines: LineReader,
    private readonly onRead: (bytes: number) => void,
  ) {
    this.size = size;
    this.offset = offset;
    this.rotated = rotated;
    lines.restartAt(offset);
  }

  /**
   * Takes over `handle`, to read from `offset` (at most its size); `onRead`
   * hears of each read before its lines are handed on. Closes it on failure.
   */
  static async open(
    handle: FileHandle,
    offset: number,
    rotated: boolean,
    lines: LineReader,
    onRead: (bytes: number) => void,
  ): Promise<FileWatcher> {
    try {
      const st = await handle.stat();
      const file = new FileWatcher(handle, st, st.size, offset, rotated, lines, onRead);
      await takeFingerprint(file, st.size);
      return file;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Sees how big the file is now. Smaller than what was read is a
   * copy-truncate: the same file, to read again from its start; returns the
   * offset it had reached then. Lines written between logrotate's copy and
   * its truncate are in the copy only, and a truncate followed by more than
   * `offset` bytes within one poll cannot be told from growth by any
   * stat-based follower.
   */
  async look(): Promise<number | undefined> {
    const { size } = fstatSync(this.handle.fd);
    let truncatedAt: number | undefined;
    if (size < this.offset) {
      truncatedAt = this.offset;
      this.offset = 0;
      this.lines.restartAt(0);
      this.fingerprint = undefined;
    }
    await takeFingerprint(this, size);
    this.size = size;
    return truncatedAt;
  }

  /** Reads up to the size last seen; false when `budget` bytes ran out first. */
  read(budget: number): boolean {
    return this.readUpTo(this.size, budget);
  }

  /** Whether `current` (the path's stat now) is this file: false once it was renamed or replaced. */
  isAt(current: FileId | undefined): boolean {
    return current !== undefined && current.dev === this.id.dev && current.ino === this.id.ino;
  }

  /** Marks the file rotated; true the first time. */
  markRotated(): boolean {
    if (this.rotated) return false;
    this.rotated = true;
    return true;
  }

  /**
   * Whether a rotated file, read up to the size last seen, is complete. Nginx
   * appends to it until it reopens its log, and its first write to the new
   * file proves that one worker has. The others reopen within milliseconds,
   * writing here until then: complete once it has not grown for
   * ROTATION_QUIET_MS after that first write. A newer rotated file waiting
   * to be read means its writer has long moved on.
   */
  finished(current: FileId | undefined, newerRotatedQueued: boolean, now: number): boolean {
    if (newerRotatedQueued) return true;
    if (current === undefined || current.size === 0) return false;
    const before = this.offset;
    this.readUpTo(Infinity, Infinity);
    if (this.offset !== before || this.quietSince === undefined) this.quietSince = now;
    return now - this.quietSince >= ROTATION_QUIET_MS;
  }

  /** Waiting out ROTATION_QUIET_MS: worth looking at again soon. */
  get settling(): boolean {
    return this.quietSince !== undefined;
  }

  /** Closes a finished file; returns the bytes of an unfinished last line, dropped with it. */
  async finish(): Promise<number> {
    const partial = this.lines.restartAt(0);
    await this.handle.close();
    return partial;
  }

  /** Closes the file and keeps the position: reading stopped, to resume there. */
  async close(): Promise<void> {
    await this.handle.close();
  }

  position(): SourcePosition | undefined {
    if (this.fingerprint === undefined) return undefined;
    return { fingerprint: this.fingerprint.hex, fingerprintBytes: this.fingerprint.bytes, offset: this.lines.lineEnd };
  }

  /** Reads up to `limit` or, if Infinity, until a read finds nothing. */
  private readUpTo(limit: number, budget: number): boolean {
    let readNow = 0;
    while (this.offset < limit) {
      if (readNow >= budget) return false;
      const bytesRead = readSync(this.handle.fd, this.lines.buffer, this.lines.held, READ_BYTES, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      readNow += bytesRead;
      this.onRead(bytesRead);
      this.lines.push(bytesRead);
    }
    return true;
  }
}
