// Reads for files the watcher does not own (control files, the published pool,
// its checkpoint, the history, the outbox): anyone who can write CONTROL_DIR
// can put a FIFO there, which blocks a plain read forever, or a symlink to
// /dev/zero, which never ends.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export type BoundedRead =
  | { kind: 'missing' }
  | { kind: 'ok'; text: string }
  | { kind: 'rejected'; reason: string };

/**
 * The UTF-8 text of `path` if it is a regular file of at most `maxBytes`;
 * `missing` if there is no such path; otherwise `rejected`, with a reason fit
 * for one warning. Never blocks and never reads more than `maxBytes + 1` bytes.
 */
export function readBoundedFile(path: string, maxBytes: number): BoundedRead {
  return readRegularFile(path, (fd, size) => (size > maxBytes ? tooLarge(maxBytes) : readAtMost(fd, maxBytes)));
}

export type TailRead = Exclude<BoundedRead, { kind: 'ok' }> | { kind: 'ok'; text: string; cut: boolean };

/**
 * The last `maxBytes` of a file that only grows (an append-only log): `cut`
 * says earlier bytes were left out, so the text may start mid-line, even
 * mid-character. Same guards as readBoundedFile.
 */
export function readFileTail(path: string, maxBytes: number): TailRead {
  return readRegularFile(path, (fd, size): TailRead => {
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, start + length);
      if (n === 0) break;
      length += n;
    }
    return { kind: 'ok', text: buffer.toString('utf8', 0, length), cut: start > 0 };
  });
}

/** Runs `read` on `path` only if it is a regular file; the descriptor is closed after. */
function readRegularFile<T>(path: string, read: (fd: number, size: number) => T): T | Exclude<BoundedRead, { kind: 'ok' }> {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'rejected', reason: `cannot open it (${code})` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { kind: 'rejected', reason: `not a regular file but a ${fileType(stats)}` };
    return read(fd, stats.size);
  } catch (err) {
    return { kind: 'rejected', reason: `cannot read it (${(err as NodeJS.ErrnoException).code})` };
  } finally {
    closeSync(fd);
  }
}

/** The size from fstat can be stale: a file still growing is caught by reading one byte past the limit. */
function readAtMost(fd: number, maxBytes: number): BoundedRead {
  const buffer = Buffer.alloc(maxBytes + 1);
  let length = 0;
  for (;;) {
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
    if (length > maxBytes) return tooLarge(maxBytes);
  }
  return { kind: 'ok', text: buffer.toString('utf8', 0, length) };
}

function tooLarge(maxBytes: number): BoundedRead {
  return { kind: 'rejected', reason: `larger than ${maxBytes} bytes` };
}

export function fileType(stats: Stats): string {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isSocket()) return 'socket';
  return 'special file';
}
