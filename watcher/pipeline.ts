// The watcher's stages, wired for one line at a time:
//   source.ts → parse.ts → detect/ → policy/ → notify/ (queue.ts → slackClient.ts | dryRun.ts)
// Everything here is synchronous up to the queue, so a slow Slack never holds
// up the log reader.
import type { Logger } from '../common/logger.js';
import type { Control } from './control.js';
import { Detector } from './detect/index.js';
import { DeliveryQueue, type QueuedAlert } from './notify/queue.js';
import type { AlertSink } from './notify/slackClient.js';
import { formatSlackMessage } from './notify/slackMessage.js';
import { parseLine } from './parse.js';
import { AlertPolicy } from './policy/index.js';
import type { DroppedLine } from './source.js';
import type { PipelineView, RecentAlert, WatcherStats } from './stats.js';
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
}

export interface Pipeline {
  onLine(line: string): void;
  onDroppedLine(dropped: DroppedLine): void;
  view(): PipelineView;
  /** Sends what is queued, for at most `timeoutMs`; returns how many alerts are left unsent. */
  drain(timeoutMs: number): Promise<number>;
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
  });
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
    },
  });
  const reportMalformed = throttledWarning(log, 'skipped malformed access-log lines', clock);
  const reportTooLong = throttledWarning(log, 'dropped access-log lines longer than MAX_LINE_BYTES', clock);

  function decide(raised: Alert): void {
    const decision = policy.decide(raised);
    // The policy's copy carries the held-back count the message reports.
    const { alert } = decision;
    const message = formatSlackMessage(alert, { runbookUrl: opts.runbookUrl });
    const entry = stats.alertRaised(alert.kind, message.text, decision.action);
    const fields = { kind: alert.kind, text: message.text, decision: decision.action };
    switch (decision.action) {
      case 'send': {
        log.info(fields, 'alert: sending');
        const item = { alert, message };
        entries.set(item, entry);
        queue.enqueue(item);
        return;
      }
      case 'hold':
        log.info({ ...fields, reason: decision.reason }, 'alert: held back by the cooldown');
        return;
      case 'suppress':
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
      for (const alert of detector.observe(parsed.record)) decide(alert);
    },
    onDroppedLine({ bytes, sample }) {
      stats.lines.droppedTooLong++;
      reportTooLong({ bytes, sample });
    },
    view: () => ({
      servingPool: detector.servingPool,
      primaryPool: detector.primaryPool,
      window: detector.windowStats(),
      queued: queue.pending,
    }),
    drain: (timeoutMs) => queue.drain(timeoutMs),
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
