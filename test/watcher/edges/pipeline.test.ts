// The wiring of one line through parse → detect → policy → queue, with a fake
// clock and sink: bad lines are counted and logged at a bounded rate, never
// fatal; every decision is logged and counted in /stats; a tick lets time pass
// (holds, cooldowns); the state a checkpoint saves is reported when it changes.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { DeliveryResult } from '../../../watcher/notify/index.js';
import type { AlertSink, SlackMessage } from '../../../watcher/notify/slackClient.js';
import { WatcherStats } from '../../../watcher/operator/stats.js';
import { createPipeline, type PipelineOptions, type PipelineState } from '../../../watcher/pipeline.js';
import { notificationSchema } from '../../../watcher/policy/index.js';
import type { Control } from '../../../watcher/state/control.js';
import type { HistoryEntry } from '../../../watcher/history.js';
import { createOutbox, OUTBOX_DIR, postReleaseNotice } from '../../../watcher/state/outbox.js';
import { failedOver, noPool, served, toLine } from '../core/sim.js';

const line = (pool: 'blue' | 'green') => toLine(served(pool));
const HOLD = 10_000;
const COOLDOWN = 60_000;
const START = 1_800_000_000_000;

interface SetupOptions
  extends Partial<Pick<PipelineOptions, 'cooldownMs' | 'remindMs' | 'queueSize' | 'restore' | 'onStateChange' | 'startNotices' | 'editInPlace'>> {
  maintenance?: boolean;
  /** Release notices come from this CONTROL_DIR's outbox. */
  controlDir?: string;
  answer?: (m: SlackMessage) => DeliveryResult | Promise<DeliveryResult>;
}

function setup(opts: SetupOptions = {}) {
  let now = START;
  const clock = () => now;
  const sent: SlackMessage[] = [];
  const steps: (string | undefined)[] = [];
  const sink: AlertSink = {
    send: async (m, placement) => {
      sent.push(m);
      steps.push(placement?.step);
      return opts.answer?.(m) ?? 'delivered';
    },
    close: async () => {},
  };
  const control: Control = { maintenance: () => opts.maintenance ?? false, plannedSwitch: () => undefined, publishedPool: () => undefined };
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'info', { write: (s: string) => void logs.push(JSON.parse(s)) });
  const stats = new WatcherStats(clock);
  const pipeline = createPipeline({
    activePool: 'blue',
    windowSize: 200,
    poolWindowSize: 100,
    thresholdPercent: 50,
    recoveryHoldMs: HOLD,
    cooldownMs: opts.cooldownMs ?? COOLDOWN,
    remindMs: opts.remindMs ?? 0,
    queueSize: opts.queueSize ?? 10,
    runbookUrl: undefined,
    clock,
    control,
    outbox: opts.controlDir === undefined ? undefined : createOutbox({ controlDir: opts.controlDir, logger }),
    sink,
    stats,
    logger,
    restore: opts.restore,
    startNotices: opts.startNotices,
    onStateChange: opts.onStateChange,
    editInPlace: opts.editInPlace,
  });
  const advance = (ms: number) => {
    now += ms;
  };
  const warnings = (msg: string) => logs.filter((l) => l.level === 'warn' && l.msg === msg);
  const snapshot = () => stats.snapshot(pipeline.view(), {} as never, { delivery: 'test', heartbeat: { url: 'off' } });
  return { pipeline, stats, sent, steps, logs, advance, warnings, snapshot, texts: () => sent.map((m) => m.text) };
}

describe('pipeline: where messages went', () => {
  it('in dry-run, counts and shows alerts as dry_run, never as delivered, and still treats them as told', async () => {
    const { pipeline, snapshot, advance } = setup({ answer: () => 'dry_run', cooldownMs: 0 });
    pipeline.onLine(line('blue'));
    pipeline.onLine(toLine(failedOver()));
    await pipeline.drain(1_000);
    expect(snapshot().alerts).toMatchObject({ send: 1, delivered: 0, dry_run: 1, failed: 0 });
    expect(snapshot().recentAlerts.map((a) => a.outcome)).toEqual(['dry_run']);
    expect(pipeline.deliveryHealth()).toEqual({});
    // Told: the all-clear follows the hold, and the incident closes as if Slack had heard it.
    pipeline.onLine(line('blue'));
    advance(HOLD);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(snapshot().recentAlerts.map((a) => [a.message, a.outcome])).toEqual([
      ['opened', 'dry_run'],
      ['resolved', 'dry_run'],
    ]);
    expect(snapshot().incidents).toEqual([]);
  });

  it('says first that the watcher was down, before what the previous run left unsent', async () => {
    const first = setup({ answer: () => 'failed' });
    first.pipeline.onLine(line('blue'));
    first.pipeline.onLine(toLine(failedOver()));
    const restore = first.pipeline.state();
    const { pipeline, texts } = setup({
      restore,
      startNotices: [{ kind: 'watcher_restarted', message: 'notice', at: START, downSince: START - 90_000 }],
    });
    await pipeline.drain(1_000);
    expect(texts()).toEqual([
      'Watcher restarted after an unclean stop: down 1 min 30 s, from 07:58:30 to 08:00:00 UTC',
      'Failover detected: pool changed blue → green',
    ]);
  });

  it('reports how delivery is going for the heartbeat: how long an alert has waited, and a failure until a delivery', async () => {
    let answer: DeliveryResult | 'hang' = 'hang';
    const hung: Array<(r: DeliveryResult) => void> = [];
    const { pipeline, advance } = setup({
      cooldownMs: 0,
      answer: () => (answer === 'hang' ? new Promise((resolve) => hung.push(resolve)) : answer),
    });
    expect(pipeline.deliveryHealth()).toEqual({});
    pipeline.onLine(line('blue'));
    pipeline.onLine(toLine(failedOver()));
    const queuedAt = START;
    advance(5_000);
    expect(pipeline.deliveryHealth()).toEqual({ waitingSince: queuedAt });
    hung[0]?.('failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(pipeline.deliveryHealth()).toEqual({ failedAt: START + 5_000 });
    // The next message that Slack takes clears it.
    answer = 'delivered';
    pipeline.onLine(line('blue'));
    advance(HOLD);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(pipeline.deliveryHealth()).toEqual({});
  });
});

const MALFORMED = 'skipped malformed access-log lines';

describe('pipeline: lines', () => {
  it('counts every malformed line, logs them at most once per 10 s with a sample, and keeps going', async () => {
    const { pipeline, stats, advance, warnings, texts } = setup();
    const junk = ['', 'garbage', 'status=abc pool=blue', 'time=x status="200', 'status=999', '\u0000\u0001'];
    for (let i = 0; i < 1000; i++) pipeline.onLine(junk[i % junk.length] ?? '');
    expect(stats.lines).toEqual({ read: 1000, malformed: 1000, droppedTooLong: 0 });
    expect(warnings(MALFORMED)).toHaveLength(1);
    expect(warnings(MALFORMED)[0]).toMatchObject({ countSinceLastLog: 1, reason: expect.any(String) });

    advance(10_000);
    pipeline.onLine('still garbage');
    expect(warnings(MALFORMED)).toHaveLength(2);
    // The second warning says how many were skipped since the first.
    expect(warnings(MALFORMED)[1]).toMatchObject({ countSinceLastLog: 1000, sample: 'still garbage' });

    pipeline.onLine(line('blue'));
    pipeline.onLine(toLine(failedOver()));
    await pipeline.drain(1_000);
    expect(texts()).toEqual(['Failover detected: pool changed blue → green']);
    expect(stats.lines.read).toBe(1003);
  });

  it('cuts the logged sample of a huge malformed line', () => {
    const { pipeline, warnings } = setup();
    pipeline.onLine(`junk ${'x'.repeat(10_000)}`);
    const sample = warnings(MALFORMED)[0]?.sample as string;
    expect(sample.length).toBeLessThanOrEqual(200);
  });

  it('counts dropped over-long lines and logs them at a bounded rate', () => {
    const { pipeline, stats, warnings } = setup();
    for (let i = 0; i < 5; i++) pipeline.onDroppedLine({ bytes: 20_000, sample: 'time=…' });
    expect(stats.lines.droppedTooLong).toBe(5);
    expect(warnings('dropped access-log lines longer than MAX_LINE_BYTES')).toHaveLength(1);
  });
});

describe('pipeline: decisions', () => {
  it('with one message per incident, edits it at once to a change the cooldown holds back, and replies when the cooldown ends', async () => {
    const { pipeline, advance, texts, steps, snapshot } = setup({ editInPlace: true });
    pipeline.onLine(toLine(failedOver()));
    advance(1_000);
    pipeline.onLine(line('blue'));
    advance(HOLD);
    pipeline.tick();
    // Saved state holds no edit: after a restart the policy's deferred word is what is re-sent.
    expect(pipeline.state().pending.map((n) => n.message)).toEqual(['opened']);
    await pipeline.drain(1_000);
    expect(steps).toEqual(['open', 'edit']);
    expect(texts()[1]).toMatch(/^Recovered: pool changed green → blue/);
    // The edit is no word of the policy's: the incident stays open until its reply is delivered.
    expect(snapshot().incidents).toHaveLength(1);
    advance(COOLDOWN - HOLD - 1_000);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(steps).toEqual(['open', 'edit', 'close']);
    expect(snapshot().incidents).toHaveLength(0);
  });

  it('without it (a webhook), a held-back change posts nothing until the cooldown ends', async () => {
    const { pipeline, advance, steps } = setup();
    pipeline.onLine(toLine(failedOver()));
    advance(1_000);
    pipeline.onLine(line('blue'));
    advance(HOLD);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(steps).toEqual(['open']);
  });

  it('sends the opening at once, defers the all-clear within the cooldown, and sends it from a tick when the cooldown ends', async () => {
    const { pipeline, advance, logs, texts } = setup();
    pipeline.onLine(toLine(failedOver()));
    advance(1_000);
    pipeline.onLine(line('blue'));
    // The hold runs out with no line: a tick resolves the failover, inside the cooldown.
    advance(HOLD);
    pipeline.tick();
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(texts()).toEqual(['Failover detected: pool changed blue → green']);
    expect(logs.filter((l) => l.msg === 'alert: defer')).toMatchObject([{ kind: 'failover', message: 'resolved', decision: 'defer' }]);
    advance(COOLDOWN - HOLD - 1_000);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(texts()).toEqual([
      'Failover detected: pool changed blue → green',
      'Recovered: pool changed green → blue, steady for 10 s (open 1 min)',
    ]);
    expect(logs.filter((l) => l.msg === 'alert: send')).toHaveLength(2);
  });

  it('suppresses and logs during maintenance, and sends nothing', async () => {
    const quiet = setup({ maintenance: true });
    quiet.pipeline.onLine(toLine(failedOver()));
    quiet.pipeline.tick();
    await quiet.pipeline.drain(1_000);
    expect(quiet.sent).toEqual([]);
    expect(quiet.logs.filter((l) => l.msg === 'alert: suppress')).toMatchObject([{ kind: 'failover', message: 'opened' }]);
  });

  it('records each decision in /stats, and for sent messages how delivery ended', async () => {
    const answers: DeliveryResult[] = ['delivered', 'failed'];
    const { pipeline, advance, snapshot } = setup({ answer: () => answers.shift() ?? 'delivered' });
    pipeline.onLine(toLine(failedOver()));
    pipeline.onLine(toLine(noPool()));
    await pipeline.drain(1_000);
    advance(1_000);
    pipeline.onLine(line('blue'));
    advance(HOLD);
    pipeline.tick();
    await pipeline.drain(1_000);
    const s = snapshot();
    expect(s.recentAlerts.map((r) => [r.kind, r.message, r.decision, r.outcome])).toEqual([
      ['failover', 'opened', 'send', 'delivered'],
      ['outage', 'opened', 'send', 'failed'],
      // The outage's opening was lost: its truth waits for the cooldown, reported once per change.
      ['outage', 'updated', 'defer', undefined],
      ['failover', 'resolved', 'defer', undefined],
      ['outage', 'resolved', 'defer', undefined],
    ]);
    expect(s.recentAlerts[0]).toMatchObject({
      text: 'Failover detected: pool changed blue → green',
      raisedAt: new Date(START).toISOString(),
      settledAt: new Date(START).toISOString(),
    });
    expect(s.recentAlerts[3]?.raisedAt).toBe(new Date(START + 1_000 + HOLD).toISOString());
    expect(s.recentAlerts[3]).not.toHaveProperty('settledAt');
    expect(s.alerts).toEqual({ send: 2, defer: 3, suppress: 0, delivered: 1, failed: 1, dropped: 0, dry_run: 0, queued: 0 });
    // What Slack heard of the outage is marked lost.
    expect(s.incidents.find((i) => i.key === 'outage')?.told).toMatchObject({ lost: true });
  });

  it('counts a message the full queue dropped, and re-sends its truth after the cooldown', async () => {
    let release: (r: DeliveryResult) => void = () => {};
    const { pipeline, advance, snapshot, texts } = setup({
      queueSize: 1,
      answer: () => new Promise<DeliveryResult>((resolve) => (release = resolve)),
    });
    pipeline.onLine(toLine(failedOver())); // in flight
    pipeline.onLine(toLine(noPool())); // waiting
    for (let i = 0; i < 200; i++) pipeline.onLine(toLine(noPool())); // the error rate: the outage's opening is dropped
    expect(snapshot().alerts).toMatchObject({ send: 3, dropped: 1, queued: 2 });
    expect(snapshot().recentAlerts.map((r) => [r.kind, r.outcome])).toEqual([
      ['failover', undefined],
      ['outage', 'dropped'],
      ['error_rate', undefined],
    ]);
    release('delivered');
    await new Promise((r) => setImmediate(r));
    release('delivered');
    await pipeline.drain(1_000);
    expect(texts()).toEqual(['Failover detected: pool changed blue → green', expect.stringMatching(/^High error rate: /)]);
    advance(COOLDOWN);
    pipeline.tick();
    await new Promise((r) => setImmediate(r));
    release('delivered');
    await pipeline.drain(1_000);
    expect(texts().at(-1)).toMatch(/^Outage update: no pool could answer/);
  });

  it('reminds of an open incident from a tick', async () => {
    const { pipeline, advance, texts } = setup({ remindMs: 300_000 });
    pipeline.onLine(toLine(failedOver()));
    advance(300_000);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(texts()).toEqual([
      'Failover detected: pool changed blue → green',
      'Failover still open after 5 min: blue failing, green serving (open 5 min)',
    ]);
  });

  it('shows the pools, shares and incidents in its view', () => {
    const { pipeline } = setup();
    pipeline.onLine(line('blue'));
    pipeline.onLine(toLine(failedOver()));
    expect(pipeline.view()).toMatchObject({
      servingPool: 'green',
      primaryPool: 'blue',
      maintenance: false,
      window: { count: 2, upstreamErrors: 1 },
      pools: {
        blue: { failed: 1, attempts: 2, total: { failed: 1, attempts: 2 } },
        green: { failed: 0, attempts: 1, total: { failed: 0, attempts: 1 } },
      },
      incidents: [{ key: 'failover:blue', told: { active: true, level: 'failing' } }],
      queued: 1,
    });
  });
});

describe('pipeline: state', () => {
  it('reports its state when a condition changes and when a delivery ends, and re-sends restored messages', async () => {
    const snapshots: PipelineState[] = [];
    let pipeline: ReturnType<typeof setup>['pipeline'];
    const first = setup({ onStateChange: () => snapshots.push(pipeline.state()) });
    pipeline = first.pipeline;
    pipeline.onLine(line('blue'));
    pipeline.tick();
    expect(snapshots).toEqual([]);
    pipeline.onLine(toLine(failedOver()));
    // Decided and queued, not yet delivered: the checkpoint holds it as data.
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({
      detector: { servingPool: 'green', primaryPool: 'blue', failover: { blue: { active: true } } },
      policy: { incidents: [{ key: 'failover:blue', told: { active: true } }], maintenance: false },
      pending: [{ kind: 'failover', message: 'opened', condition: { key: 'failover:blue' } }],
    });
    await pipeline.drain(1_000);
    expect(snapshots).toHaveLength(2);
    expect(snapshots.at(-1)?.pending).toEqual([]);

    // A restart from the first snapshot: no new message for green lines, the undelivered opening is sent again.
    const second = setup({ restore: JSON.parse(JSON.stringify(snapshots[0])) });
    second.pipeline.onLine(line('green'));
    second.pipeline.tick();
    await second.pipeline.drain(1_000);
    expect(second.texts()).toEqual(['Failover detected: pool changed blue → green']);
    expect(second.pipeline.view()).toMatchObject({ servingPool: 'green', primaryPool: 'blue', queued: 0 });
    expect(second.logs.some((l) => l.msg === 'sending messages left undelivered by the previous run')).toBe(true);
    expect(second.snapshot().alerts).toMatchObject({ send: 1, delivered: 1 });
  });

  it('reports its state when a tick resolves a condition, even when nothing is sent', () => {
    let changes = 0;
    const { pipeline, advance } = setup({ onStateChange: () => changes++ });
    pipeline.onLine(toLine(failedOver()));
    pipeline.onLine(line('blue'));
    const before = changes;
    advance(HOLD - 1);
    pipeline.tick();
    expect(changes).toBe(before);
    advance(1);
    pipeline.tick(); // resolved, deferred by the cooldown
    expect(changes).toBe(before + 1);
    pipeline.tick();
    expect(changes).toBe(before + 1);
  });
});

describe('pipeline: release notices', () => {
  let controlDir: string;
  const dirs: string[] = [];
  const tempControlDir = () => {
    controlDir = mkdtempSync(join(tmpdir(), 'pipeline-outbox-'));
    dirs.push(controlDir);
    return controlDir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  const outboxFiles = () => (existsSync(join(controlDir, OUTBOX_DIR)) ? readdirSync(join(controlDir, OUTBOX_DIR)) : []);
  const promoted: HistoryEntry = {
    time: '2026-11-22T00:06:32.123Z',
    action: 'release',
    outcome: 'promoted',
    pool: 'green',
    fromPool: 'blue',
    release: 'r2',
    fromRelease: 'r1',
    who: 'alice@host1',
  };
  const HEADLINE = 'Release r2 promoted: green serves it, blue keeps r1 as warm backup';

  it('sends a notice from the outbox once, and removes its file only after the state holding it was reported', async () => {
    const seen: Array<{ files: string[]; pending: string[] }> = [];
    let pipeline: ReturnType<typeof setup>['pipeline'];
    const t = setup({
      controlDir: tempControlDir(),
      onStateChange: () => seen.push({ files: outboxFiles(), pending: pipeline.state().pending.map((n) => n.kind) }),
    });
    pipeline = t.pipeline;
    postReleaseNotice(controlDir, promoted);
    pipeline.tick();
    expect(seen[0]).toEqual({ files: [expect.stringMatching(/\.json$/)], pending: ['release'] });
    expect(outboxFiles()).toEqual([]);
    pipeline.tick();
    await pipeline.drain(1_000);
    expect(t.texts()).toEqual([HEADLINE]);
    expect(t.snapshot().recentAlerts).toMatchObject([
      { kind: 'release', message: 'notice', text: HEADLINE, decision: 'send', outcome: 'delivered' },
    ]);
  });

  it('suppresses them during maintenance, and still removes the file', async () => {
    const t = setup({ controlDir: tempControlDir(), maintenance: true });
    postReleaseNotice(controlDir, promoted);
    t.pipeline.tick();
    await t.pipeline.drain(1_000);
    expect(t.sent).toEqual([]);
    expect(t.logs.filter((l) => l.msg === 'alert: suppress')).toMatchObject([{ kind: 'release', message: 'notice' }]);
    expect(outboxFiles()).toEqual([]);
  });

  it('sets aside an invalid file with a warning and sends nothing for it', async () => {
    const t = setup({ controlDir: tempControlDir() });
    postReleaseNotice(controlDir, promoted);
    writeFileSync(join(controlDir, OUTBOX_DIR, '1000-x.json'), JSON.stringify({ ...promoted, release: '../etc' }));
    t.pipeline.tick();
    await t.pipeline.drain(1_000);
    expect(t.texts()).toEqual([HEADLINE]);
    expect(outboxFiles()).toEqual(['1000-x.json.rejected']);
    expect(t.warnings('rejected a release notice file: renamed it *.rejected')).toMatchObject([{ reason: expect.stringMatching(/^release: /) }]);
  });

  it('a restart while one is undelivered sends it again, from the saved state alone', async () => {
    const first = setup({ controlDir: tempControlDir(), answer: () => new Promise<DeliveryResult>(() => {}) });
    postReleaseNotice(controlDir, promoted);
    first.pipeline.tick();
    expect(outboxFiles()).toEqual([]);
    const saved = JSON.parse(JSON.stringify(first.pipeline.state())) as PipelineState;
    // What the checkpoint's schema accepts: the release notice survives a restart as data.
    const pending = notificationSchema.array().parse(saved.pending);
    expect(pending).toEqual([{ kind: 'release', message: 'notice', at: START, entry: promoted }]);

    const second = setup({ controlDir, restore: { ...saved, pending } });
    second.pipeline.tick();
    await second.pipeline.drain(1_000);
    expect(second.texts()).toEqual([HEADLINE]);
  });
});
