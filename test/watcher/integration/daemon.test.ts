// The real daemon against a temp log file, a temp control dir and a local
// webhook receiver (harness.ts): the behaviour an operator relies on.
import { appendFileSync, copyFileSync, readdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import {
  ALERT_WITHIN_MS,
  POLL_MS,
  ctl,
  getJson,
  h,
  lines,
  postedTexts,
  quietPeriod,
  startDaemon,
  waitForLog,
  waitForPosts,
} from './harness.js';

describe('watcher daemon', () => {
  it('posts one failover alert for a flip, then the all-clear once the pool has been steady; /stats and /healthz reflect it', async () => {
    writeFileSync(h.logPath, lines('blue', 5));
    const d = await startDaemon();
    appendFileSync(h.logPath, lines('blue', 3));
    const flippedAt = Date.now();
    appendFileSync(h.logPath, lines('green', 3));
    const [failover] = await waitForPosts(1);
    const delayMs = (h.receiver.delivered()[0]?.at ?? 0) - flippedAt;
    console.info(`failover alert delay: ${delayMs} ms (poll ${POLL_MS} ms)`);
    expect(failover).toBe('Failover detected: pool changed blue → green');

    const backAt = Date.now();
    appendFileSync(h.logPath, lines('blue', 2));
    const texts = await waitForPosts(2);
    // Not on the first good line: after RECOVERY_HOLD_SEC (1 s) of steady service.
    expect((h.receiver.delivered()[1]?.at ?? 0) - backAt).toBeGreaterThanOrEqual(1_000);
    expect(texts[1]).toMatch(/^Recovered: pool changed green → blue, steady for 1 s \(open \d+ s\)$/);
    await quietPeriod();
    expect(h.receiver.requests).toHaveLength(2);

    // The receiver records a post before the daemon has read the answer.
    await vi.waitFor(async () => expect((await getJson(d, '/stats')).body.alerts.delivered).toBe(2));
    const stats = await getJson(d, '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      lines: { read: 8, malformed: 0, droppedTooLong: 0 },
      servingPool: 'blue',
      primaryPool: 'blue',
      alerts: { send: 2, defer: 0, suppress: 0, delivered: 2, failed: 0, dropped: 0, queued: 0 },
      // Slack has heard the all-clear: nothing is open.
      incidents: [],
      pools: {
        blue: { failed: 0, attempts: 5, total: { attempts: 5, failed: 0 } },
        green: { failed: 0, attempts: 3, total: { attempts: 3, failed: 0 } },
      },
      source: { state: 'following' },
    });
    expect(stats.body.recentAlerts).toEqual([
      expect.objectContaining({ kind: 'failover', message: 'opened', text: failover, decision: 'send', outcome: 'delivered' }),
      expect.objectContaining({ kind: 'failover', message: 'resolved', text: texts[1], decision: 'send', outcome: 'delivered' }),
    ]);
    for (const entry of stats.body.recentAlerts) {
      expect(Date.parse(entry.settledAt)).toBeGreaterThanOrEqual(Date.parse(entry.raisedAt));
    }
    expect(stats.body.window.count).toBe(8);
    expect(await getJson(d, '/healthz')).toEqual({ status: 200, body: { status: 'ok', healthy: true } });
    expect((await getJson(d, '/nope')).status).toBe(404);
  });

  it('a pool back for less than RECOVERY_HOLD_SEC is not an all-clear: one incident, one message', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon({ RECOVERY_HOLD_SEC: '3' });
    appendFileSync(h.logPath, lines('green', 2));
    await waitForPosts(1);
    // Back for a moment, then failing over again well inside the hold.
    appendFileSync(h.logPath, lines('blue', 2));
    await quietPeriod();
    appendFileSync(h.logPath, lines('green', 2));
    await sleep(3_500);
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green']);
    const { body } = await getJson(d, '/stats');
    expect(body.incidents).toEqual([expect.objectContaining({ key: 'failover:blue', kind: 'failover', told: expect.objectContaining({ active: true }) })]);
    expect(body.recentAlerts).toHaveLength(1);
  });

  it('loses no flip across a rename rotation or a copy-truncate', async () => {
    writeFileSync(h.logPath, '');
    const d = await startDaemon();
    appendFileSync(h.logPath, lines('blue', 3));
    await quietPeriod();

    renameSync(h.logPath, `${h.logPath}.1`);
    appendFileSync(`${h.logPath}.1`, lines('blue', 2)); // before Nginx reopens
    writeFileSync(h.logPath, lines('green', 2)); // after
    expect((await waitForPosts(1))[0]).toContain('pool changed blue → green');

    copyFileSync(h.logPath, `${h.logPath}.2`);
    truncateSync(h.logPath, 0);
    appendFileSync(h.logPath, lines('blue', 1));
    expect((await waitForPosts(2))[1]).toContain('pool changed green → blue');

    const { body } = await getJson(d, '/stats');
    expect(body.source).toMatchObject({ rotations: 1, truncations: 1 });
    expect(body.lines.read).toBe(8);
  });

  it('replays nothing on restart: flips already in the file raise no alert', async () => {
    writeFileSync(h.logPath, lines('blue', 2) + lines('green', 2) + lines('blue', 2));
    const d = await startDaemon();
    await quietPeriod();
    expect(h.receiver.requests).toEqual([]);
    expect((await getJson(d, '/stats')).body.lines.read).toBe(0);

    appendFileSync(h.logPath, lines('green', 1));
    expect(await waitForPosts(1)).toEqual([expect.stringContaining('pool changed blue → green')]);
  });

  it('starts from the pool Nginx publishes, not a stale ACTIVE_POOL, after a switch', async () => {
    // Nginx was switched to green; this watcher still has ACTIVE_POOL=blue.
    writeFileSync(join(h.dir, 'active-pool'), 'green\n');
    writeFileSync(h.logPath, '');
    const d = await startDaemon({ ACTIVE_POOL: 'blue' });
    appendFileSync(h.logPath, lines('green', 3));
    await quietPeriod();
    expect(h.receiver.requests).toEqual([]);
    expect((await getJson(d, '/stats')).body).toMatchObject({ servingPool: 'green', primaryPool: 'green' });

    appendFileSync(h.logPath, lines('blue', 1));
    expect(await waitForPosts(1)).toEqual([expect.stringContaining('Failover detected: pool changed green → blue')]);
  });

  it('waits for a missing log file, then reads all of it', async () => {
    const d = await startDaemon();
    await waitForLog(d, (l) => l.msg === 'waiting for the log file to appear');
    writeFileSync(h.logPath, lines('blue', 1) + lines('green', 1));
    expect((await waitForPosts(1))[0]).toContain('pool changed blue → green');
    expect(d.process.exitCode).toBeNull();
  });

  it('reports a switch announced with ctl.js as planned, not as a failover', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    await startDaemon();
    expect(await ctl('planned-switch', 'green', '--from', 'blue')).toContain('planned switch to green');
    appendFileSync(h.logPath, lines('green', 2));
    const [text] = await waitForPosts(1);
    expect(text).toMatch(/^Planned switch: pool changed blue → green/);
    await quietPeriod();
    expect(postedTexts().some((t) => t.startsWith('Failover'))).toBe(false);
  });

  it('posts a release step recorded with ctl.js once, and leaves its outbox empty', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    await startDaemon();
    await ctl(...['record', '--action', 'release', '--outcome', 'started', '--pool', 'green', '--from-pool', 'blue', '--release', 'r2']);
    expect(await waitForPosts(1)).toEqual(['Release r2 started on green (idle); blue keeps serving']);
    await quietPeriod();
    expect(h.receiver.requests).toHaveLength(1);
    expect(readdirSync(join(h.controlDir, 'outbox'))).toEqual([]);
  });

  it('posts nothing in maintenance mode set with ctl.js, logs the alert as suppressed, and sums up when it ends', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon();
    await ctl('maintenance', 'on');
    expect((await getJson(d, '/stats')).body.maintenance).toBe(true);
    appendFileSync(h.logPath, lines('green', 2));
    const suppressed = await waitForLog(d, (l) => l.decision === 'suppress');
    expect(suppressed).toMatchObject({ kind: 'failover', message: 'opened', text: 'Failover detected: pool changed blue → green' });
    await quietPeriod();
    expect(h.receiver.requests).toEqual([]);

    // Off while the failover goes on: one summary says what is open.
    await ctl('maintenance', 'off');
    expect((await getJson(d, '/stats')).body.maintenance).toBe(false);
    expect(await waitForPosts(1)).toEqual(['Maintenance ended: 1 incident open']);
    appendFileSync(h.logPath, lines('blue', 1));
    expect((await waitForPosts(2))[1]).toMatch(/^Recovered: pool changed green → blue/);
    // The receiver records a post before the daemon has read the answer.
    await vi.waitFor(async () =>
      expect((await getJson(d, '/stats')).body.alerts).toMatchObject({ suppress: 1, send: 2, delivered: 2 }),
    );
    expect((await getJson(d, '/stats')).body.recentAlerts.map((a: { kind: string; message: string; decision: string }) => [a.kind, a.message, a.decision])).toEqual([
      ['failover', 'opened', 'suppress'],
      ['maintenance_ended', 'notice', 'send'],
      ['failover', 'resolved', 'send'],
    ]);
  });

  it('retries through a Slack 500 and delivers exactly once', async () => {
    h.receiver.answerNext(500);
    writeFileSync(h.logPath, lines('blue', 2));
    await startDaemon();
    appendFileSync(h.logPath, lines('green', 1));
    await waitForPosts(1);
    await quietPeriod();
    expect(h.receiver.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(h.receiver.delivered()).toHaveLength(1);
  });

  it('on SIGTERM sends the alerts still queued, then exits 0', async () => {
    // Keeps the first alert in its retry backoff (0.5-1 s, 1-2 s, 2-4 s) while the all-clear is decided.
    h.receiver.answerNext(503, 503, 503);
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon({ RECOVERY_HOLD_SEC: '0', ALERT_COOLDOWN_SEC: '0', SHUTDOWN_TIMEOUT_MS: '15000' });
    appendFileSync(h.logPath, lines('green', 1) + lines('blue', 1));
    await vi.waitFor(() => expect(d.logs().filter((l) => l.decision === 'send')).toHaveLength(2), {
      timeout: ALERT_WITHIN_MS,
    });
    expect(h.receiver.delivered()).toHaveLength(0);
    d.process.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green', expect.stringMatching(/^Recovered: pool changed green → blue/)]);
    expect(d.logs().at(-1)?.msg).toBe('stopped');
  });

  it('without a webhook, logs each alert as one JSON line (dry-run)', async () => {
    writeFileSync(h.logPath, lines('blue', 1));
    const d = await startDaemon({ SLACK_WEBHOOK_URL: '' });
    expect(d.logs().some((l) => l.level === 'warn' && l.msg.includes('dry-run'))).toBe(true);
    expect(d.logs().find((l) => l.msg.startsWith('watcher started'))).toMatchObject({ delivery: 'dry-run' });
    appendFileSync(h.logPath, lines('green', 1));
    const line = await waitForLog(d, (l) => l.msg.startsWith('dry-run: alert not posted'));
    expect((line.slack as { text: string }).text).toContain('pool changed blue → green');
  });

  it('logs the webhook host, never its path, and warns about plain http', async () => {
    const d = await startDaemon();
    const started = d.logs().find((l) => l.msg.startsWith('watcher started'));
    expect(started?.delivery).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d.logs().some((l) => l.level === 'warn' && l.msg.includes('plain http'))).toBe(true);
  });

  it('exits 1 on bad config with one clear stderr line per problem', async () => {
    const d = await startDaemon(
      { ERROR_RATE_THRESHOLD: 'abc', ACTIVE_POOL: 'red', RECOVERY_HOLD_SEC: 'abc', ALERT_REMIND_SEC: '-1', POOL_WINDOW_SIZE: '5' },
      false,
    );
    expect(await d.exit).toBe(1);
    const problems = d.stderr.filter((l) => l !== '');
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^watcher: config error: ACTIVE_POOL: .*\(got "red"\)$/),
        expect.stringMatching(/^watcher: config error: ERROR_RATE_THRESHOLD: .*\(got "abc"\)$/),
        expect.stringMatching(/^watcher: config error: RECOVERY_HOLD_SEC: expected a whole number from 0 to 3600 \(got "abc"\)$/),
        expect.stringMatching(/^watcher: config error: ALERT_REMIND_SEC: expected a whole number from 0 to 604800 \(got "-1"\)$/),
        expect.stringMatching(/^watcher: config error: POOL_WINDOW_SIZE: expected a whole number from 10 to 100000 \(got "5"\)$/),
      ]),
    );
  });
});
