// A watcher that cannot die silently, on the real daemon: the heartbeat to a
// dead-man's switch (on schedule while healthy, /fail with the reason when the
// log cannot be read or Slack does not take the alerts, nothing once stopped),
// and the message after an unclean stop. Also: dry-run says dry-run.
import { appendFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';
import { getJson, h, lines, postedTexts, quietPeriod, startDaemon, waitForLog } from './harness.js';

const PING_PATH = '/ping/0b7c9e2a-5f1d-4d8e-9c3b-hbs3cr3t';
let hb: Receiver;
beforeEach(async () => {
  hb = await startReceiver();
});
afterEach(async () => {
  await hb.close();
});

const heartbeatEnv = () => ({ HEARTBEAT_URL: hb.url(PING_PATH), HEARTBEAT_INTERVAL_SEC: '1' });
const pings = () => hb.requests.map((r) => ({ ok: r.path === PING_PATH, fail: r.path === `${PING_PATH}/fail`, body: r.body, at: r.at }));
const okPings = () => pings().filter((p) => p.ok);
const failPings = () => pings().filter((p) => p.fail);

describe('heartbeat', () => {
  it('pings every HEARTBEAT_INTERVAL_SEC while healthy, and /stats says when it last did; the URL never reaches a log', async () => {
    writeFileSync(h.logPath, lines('blue', 1));
    const started = Date.now();
    const d = await startDaemon(heartbeatEnv());
    await vi.waitFor(() => expect(okPings().length).toBeGreaterThanOrEqual(4), { timeout: 8_000, interval: 50 });
    const at = okPings().map((p) => p.at);
    // The first at start, then about one a second (a loaded machine stretches the gaps, never shrinks them much).
    expect(at[0]! - started).toBeLessThan(3_000);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(700);
    expect(okPings().every((p) => p.body === 'ok')).toBe(true);
    expect(failPings()).toEqual([]);
    const { body } = await getJson(d, '/stats');
    expect(body.heartbeat).toMatchObject({ url: 'configured', intervalSec: 1, lastResult: 'ok', lastSentAt: expect.any(String) });
    expect(body.delivery).toBe('127.0.0.1:' + new URL(h.receiver.url()).port);
    expect(d.stdout.join('\n')).not.toContain('hbs3cr3t');
  });

  it('says /fail, and no longer ok, while the log cannot be read; ok again once it can', async () => {
    // No log at all: the daemon waits for it, which is fine for a moment and a failure after an interval.
    const d = await startDaemon(heartbeatEnv());
    await vi.waitFor(() => expect(failPings().length).toBeGreaterThanOrEqual(2), { timeout: 8_000, interval: 50 });
    expect(failPings()[0]!.body).toContain(`cannot read the access log ${h.logPath}`);
    const okBefore = okPings().length;
    const firstFail = failPings()[0]!.at;
    expect(okPings().filter((p) => p.at > firstFail)).toEqual([]);
    expect((await getJson(d, '/stats')).body.heartbeat).toMatchObject({ lastResult: 'fail', reason: expect.stringContaining('access log') });

    writeFileSync(h.logPath, lines('blue', 1));
    await vi.waitFor(() => expect(okPings().length).toBeGreaterThan(okBefore), { timeout: 5_000, interval: 50 });
    await waitForLog(d, (l) => l.component === 'heartbeat' && l.msg === 'heartbeat: healthy');
  });

  it('says /fail while an alert waits for Slack longer than an interval, and ok once Slack takes it', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    h.receiver.answerByDefault('hang');
    const d = await startDaemon({ ...heartbeatEnv(), SLACK_TIMEOUT_MS: '3000', ALERT_COOLDOWN_SEC: '0' });
    appendFileSync(h.logPath, lines('green', 1));
    await vi.waitFor(() => expect(failPings().length).toBeGreaterThanOrEqual(1), { timeout: 8_000, interval: 50 });
    expect(failPings()[0]!.body).toMatch(/^an alert has waited \d+ s for Slack$/);

    // Slack answers again: the retry delivers, and the heartbeat is ok.
    h.receiver.answerByDefault(200);
    const failedAt = Date.now();
    await vi.waitFor(() => expect(okPings().filter((p) => p.at > failedAt).length).toBeGreaterThanOrEqual(1), { timeout: 15_000, interval: 100 });
    expect(postedTexts()).toEqual(['Failover detected: pool changed blue → green']);
    expect((await getJson(d, '/stats')).body.heartbeat).toMatchObject({ lastResult: 'ok' });
  }, 30_000);

  it('says /fail while Slack rejects the alerts (a revoked webhook), until one is delivered', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    h.receiver.answerByDefault(404);
    await startDaemon({ ...heartbeatEnv(), ALERT_COOLDOWN_SEC: '0' });
    appendFileSync(h.logPath, lines('green', 1));
    await vi.waitFor(() => expect(failPings().length).toBeGreaterThanOrEqual(1), { timeout: 8_000, interval: 50 });
    expect(failPings()[0]!.body).toMatch(/^Slack did not take the alert of \S+Z \(HTTP 404: \S+\)$/);
    // A new webhook: the policy sends the truth again (the lost word), and the heartbeat is ok.
    h.receiver.answerByDefault(200);
    const since = Date.now();
    await vi.waitFor(() => expect(postedTexts().length).toBeGreaterThanOrEqual(1), { timeout: 8_000 });
    await vi.waitFor(() => expect(okPings().filter((p) => p.at > since).length).toBeGreaterThanOrEqual(1), { timeout: 5_000, interval: 50 });
  });

  it('stops when the watcher stops: nothing after SIGTERM', async () => {
    writeFileSync(h.logPath, lines('blue', 1));
    const d = await startDaemon(heartbeatEnv());
    await vi.waitFor(() => expect(okPings().length).toBeGreaterThanOrEqual(2), { timeout: 8_000, interval: 50 });
    d.process.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    const count = hb.requests.length;
    await sleep(2_500);
    expect(hb.requests.length).toBe(count);
  });
});

describe('unclean stop', () => {
  it('after kill -9, the first message says the watcher was down, from when to when', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const first = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });
    // Alive for a few ticks, so the marker's last touch is well after the start.
    await sleep(1_200);
    first.process.kill('SIGKILL');
    await first.exit;
    const killedAt = Date.now();
    await sleep(500);
    // Blue failed while nobody watched.
    appendFileSync(h.logPath, lines('green', 1));
    const second = await startDaemon({ ALERT_COOLDOWN_SEC: '0' });
    await vi.waitFor(() => expect(postedTexts()).toHaveLength(2), { timeout: 5_000 });
    expect(postedTexts()).toEqual([
      expect.stringMatching(/^Watcher restarted after an unclean stop: down \d+ s, from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d UTC$/),
      'Failover detected: pool changed blue → green',
    ]);
    const restart = JSON.parse(h.receiver.delivered()[0]!.body) as { blocks: Array<{ fields?: Array<{ text: string }> }> };
    const downField = restart.blocks[1]?.fields?.find((f) => f.text.startsWith('*Down since*'))?.text ?? '';
    // A Slack date token, to the second: <!date^UNIX^…|fallback>.
    const downSince = Number(/<!date\^(\d+)\^/.exec(downField)?.[1]) * 1000;
    // The last touch: within a tick of the kill, give or take the second the token drops.
    expect(killedAt - downSince).toBeGreaterThanOrEqual(0);
    expect(killedAt - downSince).toBeLessThan(2_500);
    expect(second.logs().some((l) => l.msg === 'the previous run ended without a clean stop')).toBe(true);
  });

  it('after a clean stop, says nothing about it', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const first = await startDaemon();
    first.process.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    const second = await startDaemon();
    await sleep(1_500);
    expect(postedTexts()).toEqual([]);
    expect(second.logs().some((l) => l.msg === 'the previous run ended without a clean stop')).toBe(false);
  });
});

describe('dry-run', () => {
  it('counts and lists the alerts as dry_run, and /stats says where alerts go', async () => {
    writeFileSync(h.logPath, lines('blue', 2));
    const d = await startDaemon({ SLACK_WEBHOOK_URL: '' });
    appendFileSync(h.logPath, lines('green', 1));
    await waitForLog(d, (l) => l.msg === 'dry-run: alert not posted (no SLACK_WEBHOOK_URL)');
    await vi.waitFor(async () => {
      const { body } = await getJson(d, '/stats');
      expect(body.delivery).toBe('dry-run');
      expect(body.alerts).toMatchObject({ send: 1, delivered: 0, dry_run: 1 });
      expect(body.recentAlerts).toEqual([expect.objectContaining({ kind: 'failover', outcome: 'dry_run' })]);
    });
    await quietPeriod();
    expect(h.receiver.requests).toEqual([]);
  });
});
