import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tail } from 'tail';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startSource, type DroppedLine, type Source, type SourcePosition } from '../../../watcher/source/index.js';
import { BUSY_GAP_MS, BUSY_POLLS, HINT_GAP_MS } from '../../../watcher/source/pollSchedule.js';
import { rng } from '../../../testkit/rng.js';

// fs.watch as the source sees it: the real one, unless a case makes it fail.
const watches = vi.hoisted(() => ({
  failWith: undefined as string | undefined,
  made: [] as FSWatcher[],
  closed: new Set<FSWatcher>(),
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const watch = (...args: unknown[]): FSWatcher => {
    if (watches.failWith !== undefined) {
      throw Object.assign(new Error(`${watches.failWith}: cannot watch`), { code: watches.failWith });
    }
    const watcher = (fs.watch as (...a: unknown[]) => FSWatcher)(...args);
    watches.made.push(watcher);
    watcher.once('close', () => watches.closed.add(watcher));
    return watcher;
  };
  return { ...fs, default: { ...fs, watch }, watch };
});

const POLL_MS = 20;
// Long enough for several polls, so each step below is seen on its own.
const SETTLE_MS = POLL_MS * 6;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'source-'));
  file = join(dir, 'access.log');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  watches.failWith = undefined;
  watches.made = [];
  watches.closed.clear();
});

const numbered = (prefix: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${from + i}\n`).join('');

// What tail 2.2.6 does in polling mode (the mode inotify-less Docker volumes
// need). These pin the reasons watcher/source/ reads the file itself.
describe('tail 2.2.6 (characterization)', () => {
  let tail: Tail | undefined;
  afterEach(() => tail?.unwatch());

  function follow(): string[] {
    const lines: string[] = [];
    tail = new Tail(file, { useWatchFile: true, fsWatchOptions: { interval: POLL_MS } });
    tail.on('line', (line: string) => lines.push(line));
    tail.on('error', (err: unknown) => lines.push(`error: ${String(err)}`));
    return lines;
  }

  it('throws ENOENT when the file does not exist yet', () => {
    expect(() => new Tail(file, { useWatchFile: true })).toThrow(/ENOENT/);
  });

  it('starts at the end of the file', async () => {
    writeFileSync(file, 'old-1\n');
    const lines = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'new-1\n');
    await vi.waitFor(() => expect(lines).toEqual(['new-1']));
  });

  it('rename rotation: never finishes the old file, reads the new one from the old size', async () => {
    writeFileSync(file, 'old-1\n');
    const lines = follow();
    await sleep(SETTLE_MS);
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'old-late\n');
    writeFileSync(file, 'new-1\nnew-2\n');
    await sleep(SETTLE_MS);
    // The range read was [old size, new size) of the new file.
    expect(lines).toEqual(['new-2']);
  });

  it('copy-truncate: skips what was written before the shrink was polled', async () => {
    writeFileSync(file, 'a-much-longer-old-line\n');
    const lines = follow();
    await sleep(SETTLE_MS);
    truncateSync(file, 0);
    appendFileSync(file, 'new-1\n');
    await sleep(SETTLE_MS);
    expect(lines).toEqual([]);
    appendFileSync(file, 'new-2\n');
    await sleep(SETTLE_MS);
    // It reads from the size seen at the shrink, not from 0.
    expect(lines).toEqual(['new-2']);
  });

  it('keeps up with a burst of 50k lines, in order', async () => {
    writeFileSync(file, '');
    const lines = follow();
    await sleep(SETTLE_MS);
    for (let i = 0; i < 50; i++) appendFileSync(file, numbered('line', i * 1000, 1000));
    await vi.waitFor(() => expect(lines).toHaveLength(50_000), { timeout: 10_000 });
    expect(lines.every((line, i) => line === `line-${i}`)).toBe(true);
  });

  it('holds a partial line until its newline', async () => {
    writeFileSync(file, '');
    const lines = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'par');
    await sleep(SETTLE_MS);
    expect(lines).toEqual([]);
    appendFileSync(file, 'tial\n');
    await vi.waitFor(() => expect(lines).toEqual(['partial']));
  });

  it('buffers a long line whole, however long: no bound on memory', async () => {
    writeFileSync(file, '');
    const lines = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, `${'x'.repeat(2_000_000)}\nshort\n`);
    await vi.waitFor(() => expect(lines.map((l) => l.length)).toEqual([2_000_000, 5]), { timeout: 10_000 });
  });
});

describe('startSource', () => {
  let source: Source | undefined;
  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  interface FollowOptions {
    maxLineBytes?: number;
    pollIntervalMs?: number;
    start?: SourcePosition;
  }

  function follow({ maxLineBytes = 1024, pollIntervalMs = POLL_MS, start }: FollowOptions = {}) {
    const lines: string[] = [];
    const readAt: number[] = [];
    const dropped: DroppedLine[] = [];
    // position() as the pipeline would see it from inside each callback.
    const lineEnds: Array<number | undefined> = [];
    const dropEnds: Array<number | undefined> = [];
    const logs: Array<{ msg: string; level: string; [key: string]: unknown }> = [];
    const logger = createLogger('test', 'debug', { write: (s: string) => logs.push(JSON.parse(s)) });
    const started: Source = startSource({
      path: file,
      pollIntervalMs,
      maxLineBytes,
      logger,
      start,
      onLine: (line) => {
        lines.push(line);
        readAt.push(performance.now());
        lineEnds.push(started.position()?.offset);
      },
      onDroppedLine: (d) => {
        dropped.push(d);
        dropEnds.push(started.position()?.offset);
      },
    });
    source = started;
    const messages = () => logs.map((l) => l.msg);
    return { lines, readAt, dropped, lineEnds, dropEnds, logs, messages, source: started };
  }

  /** Until the source has opened the file (and, having a file, has taken its fingerprint). */
  async function following(s: Source): Promise<void> {
    await vi.waitFor(() => expect(s.status().state).toBe('following'));
  }

  const sha1 = (bytes: string | Buffer) => createHash('sha1').update(bytes).digest('hex');

  it('waits for a missing file, then reads it from its start', async () => {
    const { lines, messages, source } = follow();
    await sleep(SETTLE_MS);
    expect(source.status().state).toBe('waiting');
    expect(source.position()).toBeUndefined();
    expect(messages().filter((m) => m.includes('waiting'))).toHaveLength(1);
    writeFileSync(file, 'first\nsecond\n');
    await vi.waitFor(() => expect(lines).toEqual(['first', 'second']));
    expect(source.status().state).toBe('following');
    expect(messages()).toContain('following the log file');
  });

  it('starts at the end, so a restart replays nothing', async () => {
    writeFileSync(file, 'old-1\nold-2\n');
    const first = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'new-1\n');
    await vi.waitFor(() => expect(first.lines).toEqual(['new-1']));
    await first.source.stop();

    const second = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'new-2\n');
    await vi.waitFor(() => expect(second.lines).toEqual(['new-2']));
  });

  it('rename rotation: finishes the old file (until Nginx reopens), then reads the new one whole', async () => {
    writeFileSync(file, '');
    const { lines, source } = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'old-1\n');
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'old-2\n');
    writeFileSync(file, ''); // logrotate `create`; Nginx still writes to the old file
    await sleep(SETTLE_MS);
    expect(source.status().rotationPending).toBe(true);
    appendFileSync(`${file}.1`, 'old-3\n');
    await sleep(SETTLE_MS);
    appendFileSync(file, 'new-1\nnew-2\n'); // reopened
    await vi.waitFor(() => expect(lines).toEqual(['old-1', 'old-2', 'old-3', 'new-1', 'new-2']));
    expect(source.status()).toMatchObject({ rotations: 1, rotationPending: false });
  });

  it('rename rotation within one poll, new file bigger than the old: nothing lost or repeated', async () => {
    writeFileSync(file, '');
    const { lines } = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, numbered('line', 0, 10));
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, numbered('line', 10, 10));
    writeFileSync(file, numbered('line', 20, 100));
    await vi.waitFor(() => expect(lines).toEqual(numbered('line', 0, 120).trim().split('\n')));
  });

  it('copy-truncate: reads the truncated file from its start, even when rewritten within one poll', async () => {
    writeFileSync(file, '');
    const { lines, source } = follow();
    await sleep(SETTLE_MS);
    appendFileSync(file, 'a-much-longer-old-line\n');
    await vi.waitFor(() => expect(lines).toEqual(['a-much-longer-old-line']));
    truncateSync(file, 0);
    appendFileSync(file, 'new-1\n');
    await vi.waitFor(() => expect(lines).toEqual(['a-much-longer-old-line', 'new-1']));
    appendFileSync(file, 'new-2\n');
    await vi.waitFor(() => expect(lines.slice(1)).toEqual(['new-1', 'new-2']));
    expect(source.status().truncations).toBe(1);
    // The fingerprint is the new content's.
    expect(source.position()).toEqual({ fingerprint: sha1('new-1\nnew-2\n'), fingerprintBytes: 12, offset: 12 });
  });

  it('delivers a burst of 50k lines, in order', async () => {
    writeFileSync(file, '');
    const { lines } = follow();
    await sleep(SETTLE_MS);
    const started = Date.now();
    for (let i = 0; i < 50; i++) appendFileSync(file, numbered(`line ${'p'.repeat(200)}`, i * 1000, 1000));
    await vi.waitFor(() => expect(lines).toHaveLength(50_000), { timeout: 10_000 });
    expect(lines.every((line, i) => line.endsWith(`-${i}`))).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('holds a partial line until its newline; reads CRLF and UTF-8', async () => {
    writeFileSync(file, '');
    const { lines } = follow();
    await sleep(SETTLE_MS);
    const word = Buffer.from('café\r\n');
    appendFileSync(file, word.subarray(0, 4)); // ends inside "é"
    await sleep(SETTLE_MS);
    expect(lines).toEqual([]);
    appendFileSync(file, word.subarray(4));
    await vi.waitFor(() => expect(lines).toEqual(['café']));
  });

  it('reports a line longer than maxLineBytes as soon as it is, before its newline; keeps its neighbours', async () => {
    writeFileSync(file, '');
    const { lines, dropped, dropEnds, source } = follow({ maxLineBytes: 1024 });
    await sleep(SETTLE_MS);
    appendFileSync(file, `before\n${'x'.repeat(3_000_000)}`);
    // No newline yet: it is counted all the same.
    await vi.waitFor(() => expect(dropped).toHaveLength(1));
    expect(dropped[0]?.bytes).toBeGreaterThan(1024);
    expect(dropped[0]?.bytes).toBeLessThanOrEqual(3_000_000);
    expect(dropped[0]?.sample).toMatch(/^x{120}$/);
    // Until its end, the position stays at its start: a restart reports it again rather than read its tail as a line.
    expect(dropEnds).toEqual([7]);
    await sleep(SETTLE_MS);
    expect(source.position()?.offset).toBe(7);
    appendFileSync(file, `${'y'.repeat(10)}\n${'z'.repeat(1025)}\nafter\n`);
    await vi.waitFor(() => expect(lines).toEqual(['before', 'after']));
    // Skipped silently through its newline; the next over-long line is reported whole.
    expect(dropped.map((d) => d.bytes).slice(1)).toEqual([1025]);
    expect(dropEnds[1]).toBe(7 + 3_000_011 + 1026);
    expect(source.position()?.offset).toBe(7 + 3_000_011 + 1026 + 6);
  });

  it('hands on every line, with its end offset, whatever the line lengths and write sizes', async () => {
    const maxLineBytes = 100_000;
    const random = rng(42);
    const words = ['GET /version', 'café', '€', '𝄞', 'x'.repeat(97), '"quoted"', '\\x41'];
    const expected: Array<{ line: string; end: number }> = [];
    const chunks: Buffer[] = [];
    let end = 0;
    let overLong = 0;
    for (let i = 0; i < 2_000; i++) {
      const dice = random();
      // Mostly short lines, some past the 64 KB decode piece, a few past the limit, some empty.
      const repeat = dice < 0.02 ? 4_000 : dice < 0.03 ? 8_000 : dice < 0.05 ? 0 : 1 + Math.floor(random() * 20);
      let line = `${i}`;
      for (let w = 0; w < repeat; w++) line += ` ${words[Math.floor(random() * words.length)]}`;
      if (repeat === 0) line = '';
      const bytes = Buffer.from(`${line}${random() < 0.2 ? '\r' : ''}\n`);
      end += bytes.length;
      if (bytes.length - 1 > maxLineBytes) overLong++;
      else if (line !== '') expected.push({ line, end });
      chunks.push(bytes);
    }
    const all = Buffer.concat(chunks);
    writeFileSync(file, '');
    const { lines, lineEnds, dropped } = follow({ maxLineBytes });
    await following(source as Source);
    for (let at = 0; at < all.length; ) {
      const size = Math.floor(random() * (random() < 0.5 ? 300 : 400_000)) + 1;
      appendFileSync(file, all.subarray(at, at + size));
      at += size;
      if (random() < 0.1) await sleep(1);
    }
    await vi.waitFor(() => expect(lines.length).toBe(expected.length), { timeout: 10_000 });
    expect(overLong).toBeGreaterThan(0);
    expect(expected.some((e) => Buffer.byteLength(e.line) > 65_536)).toBe(true);
    expect(dropped).toHaveLength(overLong);
    expect(lines).toEqual(expected.map((e) => e.line));
    expect(lineEnds).toEqual(expected.map((e) => e.end));
  });

  describe('change hints (inotify)', () => {
    const SLOW_POLL_MS = 60_000;
    const SOON = { timeout: 3_000 };

    it('ends the sleep early: a line, a new file and a rotation are read long before the next poll', async () => {
      const { lines, source } = follow({ pollIntervalMs: SLOW_POLL_MS });
      await sleep(SETTLE_MS);
      expect(source.status()).toMatchObject({ state: 'waiting', changeHints: true });
      writeFileSync(file, 'first\n');
      await vi.waitFor(() => expect(lines).toEqual(['first']), SOON);
      appendFileSync(file, 'second\n');
      await vi.waitFor(() => expect(lines).toEqual(['first', 'second']), SOON);
      renameSync(file, `${file}.1`);
      writeFileSync(file, '');
      await vi.waitFor(() => expect(source.status().rotationPending).toBe(true), SOON);
      appendFileSync(`${file}.1`, 'old-last\n');
      await vi.waitFor(() => expect(lines).toHaveLength(3), SOON);
      appendFileSync(file, 'new-1\n');
      await vi.waitFor(() => expect(lines).toEqual(['first', 'second', 'old-last', 'new-1']), SOON);
      expect(source.status()).toMatchObject({ rotations: 1, rotationPending: false, changeHints: true });
    });

    it('keeps reading a rotated file that another writer still appends to after the new file has a line (Nginx has a worker per core)', async () => {
      writeFileSync(file, '');
      const { lines, source } = follow({ pollIntervalMs: SLOW_POLL_MS });
      await following(source);
      appendFileSync(file, 'a\n');
      await vi.waitFor(() => expect(lines).toEqual(['a']), SOON);
      renameSync(file, `${file}.1`);
      // One worker has reopened and written to the new file; the other writes its last line to the old one a moment later.
      writeFileSync(file, 'new-1\n');
      await sleep(60);
      appendFileSync(`${file}.1`, 'old-late\n');
      await vi.waitFor(() => expect(lines).toEqual(['a', 'old-late', 'new-1']), SOON);
      expect(source.status()).toMatchObject({ rotations: 1, rotationPending: false });
    });

    it('stops the hints while a writer keeps it busy, reads its lines in batches, and watches again once it is quiet', async () => {
      writeFileSync(file, '');
      const { lines, readAt, source } = follow({ pollIntervalMs: SLOW_POLL_MS });
      await following(source);
      const made = watches.made.length;
      // A steady writer: a line every 5 ms or so for 600 ms, all read.
      const writtenAt: number[] = [];
      for (let i = 0; i < 120; i++) {
        appendFileSync(file, `busy-${i}\n`);
        writtenAt.push(performance.now());
        await sleep(5);
      }
      await vi.waitFor(() => expect(lines).toHaveLength(120), SOON);
      // One wake-up per batch, BUSY_GAP_MS apart once busy, not one every
      // HINT_GAP_MS: fewer batches than the writer's span at the gap between
      // the two would make (15 for the 600 ms it takes on a quiet machine,
      // more on a loaded one, whose sleeps run long), and no line waited long.
      const batches = readAt.filter((at, i) => i === 0 || at - readAt[i - 1]! > 3).length;
      const spanMs = writtenAt.at(-1)! - writtenAt[0]!;
      expect(batches).toBeGreaterThan(1);
      expect(batches).toBeLessThanOrEqual(Math.ceil(spanMs / ((HINT_GAP_MS + BUSY_GAP_MS) / 2)) + BUSY_POLLS);
      expect(Math.max(...readAt.map((at, i) => at - writtenAt[i]!))).toBeLessThan(1000);
      // Paused and watched again at least once, and reported as available all along.
      await vi.waitFor(() => expect(watches.made.length).toBeGreaterThan(made), SOON);
      expect(watches.closed.size).toBeGreaterThan(0);
      expect(source.status().changeHints).toBe(true);
      // Quiet now: a single line still ends a 60 s sleep at once.
      await sleep(200);
      appendFileSync(file, 'after\n');
      await vi.waitFor(() => expect(lines.at(-1)).toBe('after'), SOON);
    });

    it('falls back to polling, logged once, when inotify is not available', async () => {
      watches.failWith = 'EMFILE';
      writeFileSync(file, '');
      const { lines, logs, source } = follow();
      await following(source);
      for (let i = 0; i < 3; i++) {
        appendFileSync(file, `line-${i}\n`);
        await vi.waitFor(() => expect(lines).toHaveLength(i + 1));
      }
      // Re-tried on the next rotation; still failing, not logged again.
      renameSync(file, `${file}.1`);
      writeFileSync(file, 'new-1\n');
      await vi.waitFor(() => expect(lines).toEqual(['line-0', 'line-1', 'line-2', 'new-1']));
      const warnings = logs.filter((l) => l.msg.includes('cannot watch'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'warn', code: 'EMFILE' });
      expect(source.status().changeHints).toBe(false);
    });

    it('falls back to polling when the watch fails later, and watches again after a rotation', async () => {
      writeFileSync(file, '');
      const { lines, logs, source } = follow();
      await following(source);
      expect(source.status().changeHints).toBe(true);
      for (const watcher of watches.made) watcher.emit('error', Object.assign(new Error('gone'), { code: 'EIO' }));
      expect(source.status().changeHints).toBe(false);
      appendFileSync(file, 'polled\n');
      await vi.waitFor(() => expect(lines).toEqual(['polled']));
      renameSync(file, `${file}.1`);
      writeFileSync(file, 'new-1\n');
      await vi.waitFor(() => expect(lines).toEqual(['polled', 'new-1']));
      expect(source.status().changeHints).toBe(true);
      expect(logs.filter((l) => l.msg.includes('cannot watch'))).toHaveLength(1);
    });

    it('closes its watch on stop', async () => {
      writeFileSync(file, '');
      const { source } = follow();
      await following(source);
      expect(watches.made.length - watches.closed.size).toBe(1);
      await source.stop();
      expect(watches.closed.size).toBe(watches.made.length);
    });
  });

  describe('position and resume', () => {
    it('is undefined while the file is empty, then covers its first bytes, taken again at 256 bytes', async () => {
      writeFileSync(file, '');
      const { lines, source } = follow();
      await following(source);
      expect(source.position()).toBeUndefined();
      appendFileSync(file, 'ab\n');
      await vi.waitFor(() => expect(lines).toEqual(['ab']));
      expect(source.position()).toEqual({ fingerprint: sha1('ab\n'), fingerprintBytes: 3, offset: 3 });
      const more = numbered('line', 0, 40);
      appendFileSync(file, more);
      await vi.waitFor(() => expect(lines).toHaveLength(41));
      const head = Buffer.from(`ab\n${more}`).subarray(0, 256);
      expect(source.position()).toEqual({ fingerprint: sha1(head), fingerprintBytes: 256, offset: 3 + more.length });
    });

    it('resumes at the saved position: lines written while stopped are read, none twice', async () => {
      writeFileSync(file, 'history\n');
      const first = follow();
      await following(first.source);
      appendFileSync(file, 'a\nb\nc\n');
      await vi.waitFor(() => expect(first.lines).toEqual(['a', 'b', 'c']));
      // Saved from inside onLine for "b": a crash right then must not re-read "b".
      const savedAtB = first.source.position();
      expect(first.lineEnds).toEqual([10, 12, 14]);
      const atB = { ...(savedAtB as SourcePosition), offset: first.lineEnds[1] as number };
      await first.source.stop();
      appendFileSync(file, 'd\n');

      const second = follow({ start: atB });
      await vi.waitFor(() => expect(second.lines).toEqual(['c', 'd']));
      expect(second.logs.find((l) => l.msg === 'resuming the log file at the saved position')).toMatchObject({
        savedOffset: 12,
        unreadBytes: 4,
      });
      appendFileSync(file, 'e\n');
      await vi.waitFor(() => expect(second.lines).toEqual(['c', 'd', 'e']));
    });

    it('position() inside onLine is just after that line', async () => {
      writeFileSync(file, '');
      const { lineEnds, lines, source } = follow();
      await following(source);
      const text = 'one\r\ntwo\n\nthré\n€€\n';
      appendFileSync(file, text);
      await vi.waitFor(() => expect(lines).toEqual(['one', 'two', 'thré', '€€']));
      expect(lineEnds).toEqual([5, 9, 16, 23]);
      expect(Buffer.byteLength(text)).toBe(23);
    });

    async function resumeAfterChange(change: () => void): Promise<ReturnType<typeof follow>> {
      writeFileSync(file, numbered('first-run-line', 0, 30));
      const first = follow();
      await following(first.source);
      const saved = first.source.position() as SourcePosition;
      expect(saved).toMatchObject({ fingerprintBytes: 256, offset: numbered('first-run-line', 0, 30).length });
      await first.source.stop();
      change();
      return follow({ start: saved });
    }

    const startOver = (logs: ReturnType<typeof follow>['logs']) =>
      logs.find((l) => l.msg === 'saved log file not found; reading the log file from its start');

    // A rotation while stopped, where the old file is still beside the new one: sourceResume.test.ts.
    it('reads the file from its start when it was replaced while stopped', async () => {
      const second = await resumeAfterChange(() => {
        rmSync(file);
        writeFileSync(file, numbered('replaced', 0, 40));
      });
      await vi.waitFor(() => expect(second.lines).toEqual(numbered('replaced', 0, 40).trim().split('\n')));
      expect(startOver(second.logs)).toMatchObject({
        level: 'warn',
        reason: 'its first bytes differ: rotated or replaced',
        lookedFor: [],
      });
    });

    it('reads the file from its start when it was truncated while stopped', async () => {
      const kept = numbered('first-run-line', 0, 20);
      const second = await resumeAfterChange(() => truncateSync(file, kept.length));
      await vi.waitFor(() => expect(second.lines).toEqual(kept.trim().split('\n')));
      expect(startOver(second.logs)).toMatchObject({ reason: 'shorter than the saved offset: truncated' });
    });

    it('reads the file from its start when it is now shorter than the fingerprint', async () => {
      const second = await resumeAfterChange(() => writeFileSync(file, 'tiny\n'));
      await vi.waitFor(() => expect(second.lines).toEqual(['tiny']));
      expect(startOver(second.logs)).toMatchObject({ reason: 'shorter than its saved fingerprint: replaced or truncated' });
    });

    it('reads the file from its start when it was missing at start', async () => {
      const second = await resumeAfterChange(() => rmSync(file));
      await sleep(SETTLE_MS);
      expect(second.source.status().state).toBe('waiting');
      writeFileSync(file, 'reborn\n');
      await vi.waitFor(() => expect(second.lines).toEqual(['reborn']));
      expect(startOver(second.logs)).toBeDefined();
    });

    it('reads the file from its start when the saved position is invalid', async () => {
      writeFileSync(file, 'kept\n');
      const { lines, logs } = follow({ start: { fingerprint: sha1('kept\n'), fingerprintBytes: 0, offset: 5 } });
      await vi.waitFor(() => expect(lines).toEqual(['kept']));
      expect(startOver(logs)).toMatchObject({ reason: 'invalid saved position' });
    });
  });
});
