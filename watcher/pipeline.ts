// The watcher's stages, wired for one line at a time:
//   source.ts → parse.ts → detect/ → policy/ → notify/ (queue.ts → slackClient.ts | dryRun.ts)
// Everything here is synchronous up to the queue, so a slow Slack never holds
// up the log reader.
import type { Logger } from '../common/logger.js';
import type { PendingAlert } from './state/checkpoint.js';
import type { Control } from './state/control.js';
import { Detector, type DetectorState } from './detect/index.js';
import { DeliveryQueue, type QueuedAlert } from './notify/queue.js';
import type { AlertSink } from './notify/slackClient.js';
import { formatSlackMessage } from './notify/slackMessage.js';
import { parseLine } from './parse/index.js';
import { AlertPolicy } from './policy/index.js';
import type { DroppedLine } from './source/index.js';
import type { PipelineView, RecentAlert, WatcherStats } from './operator/stats.js';
import type { Alert, Clock } from './types.js';

// A flood of bad lines must not become a flood of log lines.
const BAD_LINE_LOG_EVERY_MS = 10_000;
const SAMPLE_CHARS = 200;

export interface PipelineOptions {
  activePool: string;
  windowSize: number;
  thresholdPercent: number;
  cooldownMs: number;
  queueSize: number;
  runbookUrl: string;
  clock: Clock;
  control: Control;
  sink: AlertSink;
  stats: WatcherStats;
  logger: Logger;
  /** A previous run's state: the detector carries on, undelivered alerts are sent again. */
  restore?: PipelineState;
  /**
   * Called, synchronously, after each alert is raised and after each delivery
   * ends: the moment to checkpoint, while the source is still at the line that
   * raised it.
   */
  onStateChange?(): void;
}

export interface PipelineState {
  detector: DetectorState;
  pending: PendingAlert[];
}

export interface Pipeline {
  onLine(line: string): void;
  onDroppedLine(dropped: DroppedLine): void;
  view(): PipelineView;
  /** Sends what is queued, for at most `timeoutMs`; returns how many alerts are left unsent. */
  drain(timeoutMs: number): Promise<number>;
  state(): PipelineState;
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { clock, control, stats } = opts;
  const log = opts.logger.child({ component: 'pipeline' });
  const detector = new Detector({
    activePool: opts.activePool,
    windowSize: opts.windowSize,
    thresholdPercent: opts.thresholdPercent,
    clock,
    plannedSwitch: () => control.plannedSwitch(),
    restore: opts.restore?.detector,
  });
  const stateChanged = opts.onStateChange ?? (() => {});
  const policy = new AlertPolicy({ cooldownMs: opts.cooldownMs, clock, maintenance: () => control.maintenance() });
  // Each queued alert's /stats entry, settled when its delivery ends.
  const entries = new Map<QueuedAlert, RecentAlert>();
  const queue = new DeliveryQueue({
    capacity: opts.queueSize,
    sink: opts.sink,
    logger: opts.logger,
    onOutcome(item, outcome) {
      if (outcome === 'delivered') policy.delivered(item.alert);
      else policy.failed(item.alert);
      const entry = entries.get(item);
      entries.delete(item);
      if (entry !== undefined) stats.settle(entry, outcome === 'delivered' ? 'sent' : outcome);
      stateChanged();
    },
  });
  const resend = opts.restore?.pending ?? [];
  if (resend.length > 0) log.warn({ count: resend.length }, 'sending alerts left undelivered by the previous run');
  for (const { kind, heldBack, message } of resend) send({ alert: { kind, heldBack }, message });

  const reportMalformed = throttledWarning(log, 'skipped malformed access-log lines', clock);
  const reportTooLong = throttledWarning(log, 'dropped access-log lines longer than MAX_LINE_BYTES', clock);

  function send(item: QueuedAlert): void {
    entries.set(item, stats.alertRaised(item.alert.kind, item.message.text, 'send'));
    queue.enqueue(item);
  }

  function decide(raised: Alert): void {
    const decision = policy.decide(raised);
    // The policy's copy carries the held-back count the message reports.
    const { alert } = decision;
    const message = formatSlackMessage(alert, { runbookUrl: opts.runbookUrl });
    const fields = { kind: alert.kind, text: message.text, decision: decision.action };
    switch (decision.action) {
      case 'send':
        log.info(fields, 'alert: sending');
        send({ alert, message });
        return;
      case 'hold':
        stats.alertRaised(alert.kind, message.text, decision.action);
        log.info({ ...fields, reason: decision.reason }, 'alert: held back by the cooldown');
        return;
      case 'suppress':
        stats.alertRaised(alert.kind, message.text, decision.action);
        log.info({ ...fields, reason: decision.reason }, 'alert: suppressed by maintenance mode');
        return;
    }
  }

  return {
    onLine(line) {
      stats.lines.read++;
      const parsed = parseLine(line);
      if (!parsed.ok) {
        stats.lines.malformed++;
        reportMalformed({ reason: parsed.reason, sample: line.slice(0, SAMPLE_CHARS) });
        return;
      }
      const alerts = detector.observe(parsed.record);
      if (alerts.length === 0) return;
      for (const alert of alerts) decide(alert);
      stateChanged();
    },
    onDroppedLine({ bytes, sample }) {
      stats.lines.droppedTooLong++;
      reportTooLong({ bytes, sample });
    },
    view: () => ({
      servingPool: detector.servingPool,
      primaryPool: detector.primaryPool,
      maintenance: control.maintenance(),
      window: detector.windowStats(),
      queued: queue.pending,
    }),
    drain: (timeoutMs) => queue.drain(timeoutMs),
    state: () => ({
      detector: detector.state(),
      pending: queue.items().map(({ alert, message }) => ({ kind: alert.kind, heldBack: alert.heldBack, message })),
    }),
  };
}

/** At most one warning per interval, with the latest sample and how many occurred since the last warning. */
function throttledWarning(log: Logger, msg: string, clock: Clock): (fields: object) => void {
  let lastAt = -Infinity;
  let since = 0;
  return (fields) => {
    since++;
    const now = clock();
    if (now - lastAt < BAD_LINE_LOG_EVERY_MS) return;
    log.warn({ ...fields, countSinceLastLog: since }, msg);
    lastAt = now;
    since = 0;
  };
}
