import { isAscii } from 'node:buffer';
import type { DroppedLine } from './types.js';

const LF = 0x0a;
const CR = 0x0d;
// Fewer, larger reads: one syscall per READ_BYTES. The buffer also holds an
// unfinished line of up to maxLineBytes, so memory stays bounded by both.
export const READ_BYTES = 256 * 1024;
// Lines are decoded a piece of this size at a time (see LineReader.split).
const PIECE_BYTES = 64 * 1024;
const SAMPLE_BYTES = 120;

/**
 * Bytes in, lines out (LF or CRLF, UTF-8), with the file offset just after
 * each. Reads land in `buffer` after the unfinished line it holds (`held`
 * bytes), so a line is never copied more than once. A line longer than `max`
 * is reported as soon as it is, and the rest of it skipped through its
 * newline: a runaway line costs no more memory than a long one.
 */
export class LineReader {
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
