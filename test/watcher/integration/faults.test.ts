// The watcher under faults, as a real process (harness.ts): nothing lost,
// nothing repeated, memory bounded, health green throughout.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { SECRET_PATH } from '../../../testkit/receiver.js';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';
import { freePort, getJson, h, lines, postedTexts, quietPeriod, startDaemon, waitForLog, waitForPosts, type Daemon } from './harness.js';

// The outage's retries on a scaled-down backoff (RETRY_BACKOFF_*_MS, 1 s to 10 s
// by default): the outage is long enough for the wait to reach its cap
// (0.2 + 0.4 + 0.8 + 1.6 + 2 s), and each of its four quarters holds an
// incident open for about a quarter (plus RECOVERY_HOLD_SEC).
const BACKOFF = { RETRY_BACKOFF_BASE_MS: 200, RETRY_BACKOFF_MAX_MS: 2_000 };
const OUTAGE_MS = 12_000;
const QUARTER_SEC = OUTAGE_MS / 4 / 1000;
const texts = (r: Receiver) => r.delivered().map((req) => (JSON.parse(req.body) as { text: string }).text);

/** Resident memory of a child process, from /proc (Linux). */
function rssMB(d: Daemon): number {
  const status = readFileSync(`/proc/${d.process.pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return Math.round(kb / 1024);
}

describe('watcher under faults', () => {
  it(
    'Slack down for 12 s (refused, then 500s): alerts raised meanwhile arrive once it is back, in order, once each',
    async () => {
      const port = await freePort();
      writeFileSync(h.logPath, lines('blue', 2));
      const d = await startDaemon({
        SLACK_WEBHOOK_URL: `http://127.0.0.1:${port}${SECRET_PATH}`,
        ALERT_COOLDOWN_SEC: '0',
        SLACK_CONNECT_TIMEOUT_MS: '1000',
        SLACK_TIMEOUT_MS: '2000',
        RETRY_BACKOFF_BASE_MS: String(BACKOFF.RETRY_BACKOFF_BASE_MS),
        RETRY_BACKOFF_MAX_MS: String(BACKOFF.RETRY_BACKOFF_MAX_MS),
      });
      const started = Date.now();
      let slack: Receiver | undefined;
      const health: number[] = [];
      const rss: number[] = [];
      try {
        // Four flips over the outage, each with traffic around it: 20,000 lines in all.
        const pools = ['green', 'blue', 'green', 'blue'];
        for (const [i, pool] of pools.entries()) {
          appendFileSync(h.logPath, lines(pool, 5_000));
          if (i === 2) {
            // Half-way: the webhook listens again, but answers 500.
            slack = await startReceiver(port);
            slack.answerByDefault(500);
          }
          for (const until = started + ((i + 1) * OUTAGE_MS) / pools.length; Date.now() < until; ) {
            health.push((await getJson(d, '/healthz')).status);
            rss.push(rssMB(d));
            await sleep(1_000);
          }
        }
        expect(slack!.requests.length).toBeGreaterThan(0);
        expect(slack!.delivered()).toEqual([]);
        slack!.answerByDefault(200);
        const back = Date.now();

        // The wait is capped: everything is out within two caps of Slack's return.
        await vi.waitFor(() => expect(slack!.delivered()).toHaveLength(4), { timeout: 2 * BACKOFF.RETRY_BACKOFF_MAX_MS + 2_000, interval: 100 });
        console.info(`outage: all 4 alerts delivered ${Date.now() - back} ms after Slack came back; max RSS ${Math.max(...rss)} MB`);
        await quietPeriod();
        // Two incidents, each opened and resolved (after RECOVERY_HOLD_SEC), each message once.
        const recovered = /^Recovered: pool changed green → blue, steady for 1 s \(open (\d+) s\)$/;
        expect(texts(slack!)).toEqual([
          'Failover detected: pool changed blue → green',
          expect.stringMatching(recovered),
          'Failover detected: pool changed blue → green',
          expect.stringMatching(recovered),
        ]);
        for (const text of [texts(slack!)[1]!, texts(slack!)[3]!]) {
          const open = Number(recovered.exec(text)![1]);
          expect(open).toBeGreaterThanOrEqual(QUARTER_SEC);
          expect(open).toBeLessThanOrEqual(QUARTER_SEC + 2);
        }
        expect(health.every((s) => s === 200)).toBe(true);
        expect(Math.max(...rss)).toBeLessThan(200);
        await vi.waitFor(async () =>
          expect((await getJson(d, '/stats')).body.alerts).toMatchObject({ send: 4, defer: 0, delivered: 4, failed: 0, dropped: 0, queued: 0 }),
        );
        // Slack has heard both all-clears: nothing is left open.
        expect((await getJson(d, '/stats')).body.incidents).toEqual([]);
      } finally {
        await slack?.close();
      }
    },
    OUTAGE_MS + 30_000,
  );

  it('honours Retry-After through a storm of 429s, then delivers each alert once', async () => {
    h.receiver.answerNext(...Array(4).fill({ status: 429, headers: { 'retry-after': '1' } }));
    writeFileSync(h.logPath, lines('blue', 2));
    // A backoff far under the Retry-After: each gap of a second is Slack's word, not ours.
    await startDaemon({ ALERT_COOLDOWN_SEC: '0', RETRY_BACKOFF_BASE_MS: '100', RETRY_BACKOFF_MAX_MS: '200' });
    appendFileSync(h.logPath, lines('green', 1) + lines('blue', 1));
    await vi.waitFor(() => expect(h.receiver.delivered()).toHaveLength(2), { timeout: 20_000, interval: 100 });
    await quietPeriod();
    const { requests } = h.receiver;
    expect(requests.map((r) => r.status)).toEqual([429, 429, 429, 429, 200, 200]);
    for (let i = 1; i <= 4; i++) expect(requests[i]!.at - requests[i - 1]!.at).toBeGreaterThanOrEqual(950);
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green', expect.stringMatching(/^Recovered: pool changed green → blue/)]);
  }, 30_000);

  it('survives 100,000 malformed lines, binary garbage and a 1 MB line without a newline, counting each', async () => {
    writeFileSync(h.logPath, '');
    const d = await startDaemon();
    const junk = ['garbage', 'status=abc pool=blue', 'time=x status="200', 'status=999', '\u0000\u0001', 'k=v'];
    appendFileSync(h.logPath, Array.from({ length: 100_000 }, (_, i) => `${junk[i % junk.length]}\n`).join(''));
    // 1,000 lines of random bytes (no LF inside, so exactly one line each).
    const binary = Array.from({ length: 1_000 }, () => Buffer.concat([randomBytes(100).map((b) => (b === 0x0a ? 0 : b)), Buffer.from('\n')]));
    appendFileSync(h.logPath, Buffer.concat(binary));
    appendFileSync(h.logPath, lines('blue', 1));
    appendFileSync(h.logPath, 'x'.repeat(1 << 20));

    // The over-long line is counted as soon as it passes MAX_LINE_BYTES, before any newline.
    await vi.waitFor(
      async () =>
        expect((await getJson(d, '/stats')).body.lines).toEqual({ read: 101_001, malformed: 101_000, droppedTooLong: 1 }),
      { timeout: 10_000, interval: 100 },
    );
    expect(rssMB(d)).toBeLessThan(200);

    // The rest of that line is skipped, and the next lines count again.
    appendFileSync(h.logPath, `${'y'.repeat(1 << 10)}\n${lines('green', 1)}`);
    await vi.waitFor(() => expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green']), {
      timeout: 5_000,
    });
    expect((await getJson(d, '/stats')).body.lines).toEqual({ read: 101_002, malformed: 101_000, droppedTooLong: 1 });
    expect(d.process.exitCode).toBeNull();
  }, 30_000);

  it('follows a log that is deleted and created again, and one replaced by rename', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });

    rmSync(h.logPath);
    await quietPeriod();
    writeFileSync(h.logPath, lines('blue', 1) + lines('green', 1));
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(1), { timeout: 5_000 });

    const replacement = join(h.dir, 'access.log.new');
    writeFileSync(replacement, lines('green', 1) + lines('blue', 1));
    renameSync(replacement, h.logPath);
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(2), { timeout: 5_000 });
    await quietPeriod();
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green', expect.stringMatching(/^Recovered: pool changed green → blue/)]);
    expect((await getJson(d, '/stats')).body.lines.read).toBe(4);
  });

  it('after kill -9: resumes where it stopped, resends the alert it had not delivered, reports the flip it missed, repeats nothing', async () => {
    writeFileSync(h.logPath, lines('blue', 3));
    const first = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });
    appendFileSync(h.logPath, lines('green', 2));
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(1), { timeout: 5_000 });

    // Slack never answers the all-clear: it is decided (a tick after the hold), saved, in flight... and the process dies.
    h.receiver.answerNext('hang');
    appendFileSync(h.logPath, lines('blue', 1));
    await vi.waitFor(() => expect(h.receiver.requests).toHaveLength(2), { timeout: 5_000 });
    first.process.kill('SIGKILL');
    await first.exit;

    // While it is down Nginx keeps logging, and blue fails again.
    appendFileSync(h.logPath, lines('blue', 50) + lines('green', 3));
    const second = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });
    expect(second.logs().some((l) => l.msg === 'resuming the log file at the saved position')).toBe(true);
    expect(second.logs().some((l) => l.msg.startsWith('sending messages left undelivered') && l.count === 1)).toBe(true);
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(4), { timeout: 5_000 });
    await quietPeriod();
    const recovered = postedTexts()[2];
    expect(postedTexts()).toEqual([
      'Failover detected: pool changed blue → green',
      // First after the restart: nobody was watching for a while.
      expect.stringMatching(/^Watcher restarted after an unclean stop: down \d+ s, from /),
      expect.stringMatching(/^Recovered: pool changed green → blue, steady for 1 s/),
      'Failover detected: pool changed blue → green',
    ]);
    // The resent all-clear is the one the first run decided, worded again: the same text.
    expect(JSON.parse(h.receiver.requests[1]!.body).text).toBe(recovered);
    // The state was saved after the all-clear's line: only the 53 lines after it are read.
    expect((await getJson(second, '/stats')).body.lines.read).toBe(53);
  });

  it('after kill -9 with an incident open: no repeat of its opening, and the all-clear the cooldown deferred still arrives', async () => {
    const env = { RECOVERY_HOLD_SEC: '1', ALERT_COOLDOWN_SEC: '6' };
    writeFileSync(h.logPath, lines('blue', 3));
    const first = await startDaemon(env);
    appendFileSync(h.logPath, lines('green', 2));
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(1), { timeout: 5_000 });
    const openedAt = h.receiver.delivered()[0]!.at;
    // Blue serves again; after the hold the failover resolves, inside the cooldown: deferred, and saved.
    appendFileSync(h.logPath, lines('blue', 2));
    await waitForLog(first, (l) => l.decision === 'defer' && l.message === 'resolved');
    expect((await getJson(first, '/stats')).body.incidents).toEqual([
      expect.objectContaining({ key: 'failover:blue', told: expect.objectContaining({ active: true }), deferred: 1 }),
    ]);
    first.process.kill('SIGKILL');
    await first.exit;

    appendFileSync(h.logPath, lines('blue', 5));
    const restartedAt = Date.now();
    const second = await startDaemon(env);
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(3), { timeout: 10_000, interval: 50 });
    await quietPeriod();
    expect(postedTexts()).toEqual([
      'Failover detected: pool changed blue → green',
      expect.stringMatching(/^Watcher restarted after an unclean stop/),
      expect.stringMatching(/^Recovered: pool changed green → blue, steady for 1 s \(open \d+ s\)$/),
    ]);
    const allClear = h.receiver.delivered()[2]!;
    // Sent by the restarted watcher, once the cooldown from the opening (not from the restart) ran out.
    expect(allClear.at).toBeGreaterThan(restartedAt);
    expect(allClear.at - openedAt).toBeGreaterThanOrEqual(6_000 - 100);
    expect(allClear.at - openedAt).toBeLessThan(6_000 + 2_500);
    await vi.waitFor(async () => expect((await getJson(second, '/stats')).body.incidents).toEqual([]));
    const { body } = await getJson(second, '/stats');
    expect(body.recentAlerts).toEqual([
      expect.objectContaining({ kind: 'watcher_restarted', message: 'notice', decision: 'send', outcome: 'delivered' }),
      expect.objectContaining({ kind: 'failover', message: 'resolved', decision: 'send', outcome: 'delivered' }),
    ]);
    expect(body.lines.read).toBe(5);
  });

  it('carries over a version-1 state.json: resumes at its offset and re-decides its undelivered message instead of posting it', async () => {
    // Five blue lines, then blue failed over to green: the old watcher saved after the fifth line, with a failover alert unsent.
    const head = lines('blue', 5);
    writeFileSync(h.logPath, head + lines('green', 3));
    const bytes = readFileSync(h.logPath);
    const fingerprintBytes = Math.min(256, bytes.length);
    mkdirSync(h.controlDir, { recursive: true });
    const v1 = {
      version: 1,
      savedAt: new Date(Date.now() - 60_000).toISOString(),
      position: {
        fingerprint: createHash('sha1').update(bytes.subarray(0, fingerprintBytes)).digest('hex'),
        fingerprintBytes,
        offset: Buffer.byteLength(head),
      },
      detector: { servingPool: 'green', primaryPool: 'blue', usedSwitchIds: [], errorRateFiring: false },
      pending: [{ kind: 'failover', heldBack: 0, message: { text: 'x', blocks: [] } }],
    };
    writeFileSync(join(h.controlDir, 'state.json'), JSON.stringify(v1));

    const d = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });
    expect(d.logs().some((l) => l.msg.startsWith('carried over the saved state of the previous version') && l.droppedMessages === 1)).toBe(true);
    expect(d.logs().some((l) => l.msg === 'resuming the log file at the saved position')).toBe(true);
    // Slack never heard the failover: it is decided again, in this version's words.
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(1), { timeout: 5_000 });
    await quietPeriod();
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green']);
    expect(h.receiver.requests.some((r) => JSON.parse(r.body).text === 'x')).toBe(false);
    const { body } = await getJson(d, '/stats');
    // Resumed at the saved offset: the three green lines after it, nothing before.
    expect(body).toMatchObject({ lines: { read: 3 }, servingPool: 'green', primaryPool: 'blue' });

    // The carried-over incident goes on: blue back, and the all-clear after the hold.
    appendFileSync(h.logPath, lines('blue', 2));
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(2), { timeout: 5_000 });
    expect(postedTexts()[1]).toMatch(/^Recovered: pool changed green → blue/);
    // The file now holds this version's state.
    await vi.waitFor(() => expect(JSON.parse(readFileSync(join(h.controlDir, 'state.json'), 'utf8')).version).toBe(2));
  });

  it('a FIFO as CONTROL_DIR/maintenance and as state.json does not hang it: it starts, serves /healthz and alerts', async () => {
    mkdirSync(h.controlDir, { recursive: true });
    for (const name of ['maintenance', 'state.json']) execFileSync('mkfifo', [join(h.controlDir, name)]);
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon();
    expect(await getJson(d, '/healthz')).toEqual({ status: 200, body: { status: 'ok', healthy: true } });
    expect(d.logs().some((l) => l.level === 'warn' && l.msg.startsWith('cannot use the saved state') && /FIFO/.test(String(l.problem)))).toBe(true);
    expect((await getJson(d, '/stats')).body.maintenance).toBe(false);
    appendFileSync(h.logPath, lines('green', 1));
    expect(await waitForPosts(1)).toEqual(['Failover detected: pool changed blue → green']);
    const warned = (l: object) => JSON.stringify(l);
    expect(d.logs().some((l) => l.level === 'warn' && /FIFO/.test(warned(l)) && warned(l).includes('maintenance'))).toBe(true);
    expect(await getJson(d, '/healthz')).toEqual({ status: 200, body: { status: 'ok', healthy: true } });
  });
});
