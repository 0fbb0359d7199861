// The source stage's public types: what it hands on, where it stopped, how it
// is configured and what it reports.
import type { Logger } from '../../common/logger.js';

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
   * Called once, the first time a poll has read everything there was: the
   * files of a saved position finished, the file at `path` read to its end
   * (or absent). Lines after it are live; lines before it may be old.
   */
  onCaughtUp?(): void;
  /**
   * Where a previous run stopped. When the file at `path` is still that file
   * (same fingerprint, at least `offset` bytes) reading resumes there, so lines
   * written while the watcher was down are read. When it was rotated
   * meanwhile, that file is found beside it by its fingerprint (`path`.1,
   * `path`.2…) and finished from `offset`, then the newer rotated files and the
   * file at `path` are read whole (resume.ts); when it is nowhere, the file at
   * `path` is read from its start. Without it, a file present at start is read
   * from its end.
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
  /** The file's size at the last look, less what was read of it: how far behind the reader is. */
  behindBytes: number;
  /** Epoch ms of the last read that brought lines; 0 before the first. */
  lastLineAt: number;
  /** Whether inotify can end a poll's sleep early; false: polling only. */
  changeHints: boolean;
  /** Why the last look at the file failed (EACCES, EIO…); absent once one succeeds. */
  error?: string;
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
