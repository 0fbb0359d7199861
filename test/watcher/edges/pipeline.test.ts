// The wiring of one line through parse → detect → policy → queue, with a fake
// clock and sink: bad lines are counted and logged at a bounded rate, never
// fatal, and good lines around them still raise their alerts.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import type { Control } from '../../../watcher/state/control.js';
import type { AlertSink, SlackMessage } from '../../../watcher/notify/slackClient.js';
import { createPipeline, type PipelineState } from '../../../watcher/pipeline.js';
import { WatcherStats } from '../../../watcher/operator/stats.js';

const line = (pool: string, upstream = '200') =>
  `time=2026-11-22T00:06:32.123+00:00 rid=r1 method=GET path="/version" status=200 pool="${pool}" ` +
  `release="${pool}-v1" upstream_status="${upstream}" upstream_addr="172.18.0.3:3000" request_time=0.004 ` +
  `upstream_response_time="0.004" bytes=98`;

function setup(opts: { maintenance?: boolean; cooldownMs?: number; restore?: PipelineState; onStateChange?: () => void } = {}) {
  let now = 1_000_000;
  const clock = () => now;
  const sent: SlackMessage[] = [];
  const sink: AlertSink = {
    send: async (m) => {
      sent.push(m);
      return 'delivered';
    },
    close: async () => {},
  };
  const control: Control = { maintenance: () => opts.maintenance ?? false, plannedSwitch: () => undefined };
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'info', { write: (s: string) => void logs.push(JSON.parse(s)) });
  const stats = new WatcherStats(clock);
  const pipeline = createPipeline({
    activePool: 'blue',
    windowSize: 200,
    thresholdPercent: 50,
    cooldownMs: opts.cooldownMs ?? 0,
    queueSize: 10,
    runbookUrl: 'runbook.md',
    clock,
    control,
    sink,
    stats,
    logger,
    restore: opts.restore,
    onStateChange: opts.onStateChange,
  });
  const advance = (ms: number) => {
    now += ms;
  };
  const warnings = (msg: string) => logs.filter((l) => l.level === 'warn' && l.msg === msg);
  return { pipeline, stats, sent, logs, advance, warnings };
}

const MALFORMED = 'skipped malformed access-log lines';

describe('pipeline', () => {
  it('counts every malformed line, logs them at most once per 10 s with a sample, and keeps going', async () => {
    const { pipeline, stats, sent, advance, warnings } = setup();
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
    pipeline.onLine(line('green', '500, 200'));
    await pipeline.drain(1_000);
    expect(sent.map((m) => m.text)).toEqual(['Failover detected: pool changed blue → green']);
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

  it('logs each held-back and suppressed alert, and sends none of them', async () => {
    const held = setup({ cooldownMs: 60_000 });
    for (const pool of ['green', 'blue', 'green', 'blue', 'green']) held.pipeline.onLine(line(pool));
    await held.pipeline.drain(1_000);
    expect(held.sent.map((m) => m.text)).toEqual([
      'Failover detected: pool changed blue → green',
      'Recovered: pool changed green → blue',
    ]);
    expect(held.logs.filter((l) => l.msg === 'alert: held back by the cooldown')).toHaveLength(3);

    const quiet = setup({ maintenance: true });
    quiet.pipeline.onLine(line('green'));
    await quiet.pipeline.drain(1_000);
    expect(quiet.sent).toEqual([]);
    expect(quiet.logs.filter((l) => l.msg === 'alert: suppressed by maintenance mode')).toHaveLength(1);
  });

  it('records each raised alert in /stats with its decision and, once sent, when delivery ended', async () => {
    const { pipeline, stats, advance } = setup({ cooldownMs: 60_000 });
    pipeline.onLine(line('blue'));
    pipeline.onLine(line('green'));
    pipeline.onLine(line('blue'));
    await pipeline.drain(1_000);
    advance(1_000);
    pipeline.onLine(line('green'));
    const recent = stats.snapshot(pipeline.view(), {} as never).recentAlerts;
    expect(recent.map((r) => [r.kind, r.decision, r.outcome])).toEqual([
      ['failover', 'send', 'sent'],
      ['recovery', 'send', 'sent'],
      ['failover', 'hold', undefined],
    ]);
    expect(recent[0]?.settledAt).toBe(new Date(1_000_000).toISOString());
    expect(recent[2]?.raisedAt).toBe(new Date(1_001_000).toISOString());
    expect(stats.snapshot(pipeline.view(), {} as never).alerts).toMatchObject({ sent: 2, heldBack: 1 });
  });

  it('reports its state when an alert is raised and when its delivery ends, and resends restored alerts', async () => {
    const snapshots: PipelineState[] = [];
    let pipeline: ReturnType<typeof setup>['pipeline'];
    const first = setup({ onStateChange: () => snapshots.push(pipeline.state()) });
    pipeline = first.pipeline;
    pipeline.onLine(line('blue'));
    expect(snapshots).toEqual([]);
    pipeline.onLine(line('green'));
    // Raised and queued, not yet sent: the checkpoint holds it.
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({
      detector: { servingPool: 'green', primaryPool: 'blue', errorRateFiring: false },
      pending: [{ kind: 'failover', heldBack: 0, message: { text: 'Failover detected: pool changed blue → green' } }],
    });
    await pipeline.drain(1_000);
    expect(snapshots.at(-1)?.pending).toEqual([]);

    // A restart from the first snapshot: no alert for green lines, the undelivered failover is sent again.
    const second = setup({ restore: JSON.parse(JSON.stringify(snapshots[0])) });
    second.pipeline.onLine(line('green'));
    await second.pipeline.drain(1_000);
    expect(second.sent.map((m) => m.text)).toEqual(['Failover detected: pool changed blue → green']);
    expect(second.pipeline.view()).toMatchObject({ servingPool: 'green', primaryPool: 'blue', queued: 0 });
    expect(second.logs.some((l) => l.msg === 'sending alerts left undelivered by the previous run')).toBe(true);
  });
});
