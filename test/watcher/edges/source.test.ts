import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tail } from 'tail';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startSource, type DroppedLine, type Source } from '../../../watcher/source.js';

const POLL_MS = 20;
// Long enough for several polls, so each step below is seen on its own.
const SETTLE_MS = POLL_MS * 6;

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'source-'));
  file = join(dir, 'access.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const numbered = (prefix: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${from + i}\n`).join('');

// What tail 2.2.6 does in polling mode (the mode inotify-less Docker volumes
// need). These pin the reasons watcher/source.ts reads the file itself.
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

  function follow(maxLineBytes = 1024) {
    const lines: string[] = [];
    const dropped: DroppedLine[] = [];
    const logs: Array<{ msg: string }> = [];
    const logger = createLogger('test', 'debug', { write: (s: string) => logs.push(JSON.parse(s)) });
    source = startSource({
      path: file,
      pollIntervalMs: POLL_MS,
      maxLineBytes,
      logger,
      onLine: (line) => lines.push(line),
      onDroppedLine: (d) => dropped.push(d),
    });
    const messages = () => logs.map((l) => l.msg);
    return { lines, dropped, messages, source };
  }

  it('waits for a missing file, then reads it from its start', async () => {
    const { lines, messages, source } = follow();
    await sleep(SETTLE_MS);
    expect(source.status().state).toBe('waiting');
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

  it('drops and reports a line longer than maxLineBytes, keeps its neighbours', async () => {
    writeFileSync(file, '');
    const { lines, dropped } = follow(1024);
    await sleep(SETTLE_MS);
    appendFileSync(file, `before\n${'x'.repeat(3_000_000)}`);
    await sleep(SETTLE_MS);
    appendFileSync(file, `${'y'.repeat(10)}\n${'z'.repeat(1025)}\nafter\n`);
    await vi.waitFor(() => expect(lines).toEqual(['before', 'after']));
    expect(dropped.map((d) => d.bytes)).toEqual([3_000_010, 1025]);
    expect(dropped[0]?.sample).toMatch(/^x{120}$/);
  });
});
