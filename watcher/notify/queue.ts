// Decouples the log reader from Slack: enqueue() returns at once, one consumer
// sends in order, and a Slack outage costs the oldest alerts, not memory.
import type { Logger } from '../../common/logger.js';
import type { Notification } from '../policy/index.js';
import type { Clock } from '../types.js';
import type { Outcome } from '../vocabulary.js';
import type { AlertSink } from './sink.js';
import type { SlackMessage } from './slackMessage.js';
import { placementOf } from './slackThreads.js';

export interface QueuedAlert {
  /** What the policy's bookkeeping needs once delivery ends, and what a restart re-sends. */
  notification: Notification;
  message: SlackMessage;
  /**
   * Only edits the incident's message to the news (slackThreads.ts `edit`):
   * not the policy's word, never saved, and a newer edit of the same
   * incident replaces one still waiting.
   */
  editOnly?: boolean;
}

export interface DeliveryQueueOptions {
  capacity: number;
  sink: AlertSink;
  logger: Logger;
  clock: Clock;
  onOutcome(item: QueuedAlert, outcome: Outcome): void;
}

export class DeliveryQueue {
  private readonly waiting: QueuedAlert[] = [];
  private consumer: Promise<void> | undefined;
  private inFlight: QueuedAlert | undefined;
  /** When each waiting or in-flight alert was queued. */
  private readonly queuedAt = new Map<QueuedAlert, number>();
  private readonly log: Logger;

  constructor(private readonly opts: DeliveryQueueOptions) {
    this.log = opts.logger.child({ component: 'queue' });
  }

  /** Alerts not yet delivered or given up on, including the one being sent. */
  get pending(): number {
    return this.waiting.length + (this.inFlight === undefined ? 0 : 1);
  }

  /** When the oldest alert not yet delivered or given up on was queued: how long Slack has kept it waiting. */
  waitingSince(): number | undefined {
    const oldest = this.inFlight ?? this.waiting[0];
    return oldest === undefined ? undefined : this.queuedAt.get(oldest);
  }

  /** The same alerts, oldest first: what a checkpoint must keep to resend after a crash. */
  items(): QueuedAlert[] {
    return this.inFlight === undefined ? [...this.waiting] : [this.inFlight, ...this.waiting];
  }

  enqueue(item: QueuedAlert): void {
    if (item.editOnly) {
      const thread = placementOf(item.notification)?.thread;
      const older = this.waiting.findIndex((w) => w.editOnly && placementOf(w.notification)?.thread === thread);
      if (older >= 0) {
        this.queuedAt.delete(this.waiting[older]!);
        this.waiting.splice(older, 1);
      }
    }
    if (this.waiting.length >= this.opts.capacity) {
      const dropped = this.waiting.shift();
      if (dropped !== undefined) {
        this.log.warn(
          { kind: dropped.notification.kind, text: dropped.message.text, capacity: this.opts.capacity },
          'alert queue full; dropped the oldest alert',
        );
        this.queuedAt.delete(dropped);
        this.opts.onOutcome(dropped, 'dropped');
      }
    }
    this.waiting.push(item);
    this.queuedAt.set(item, this.opts.clock());
    this.consumer ??= this.consume();
  }

  /** Waits until everything queued is sent or `timeoutMs` passes; returns how many are left. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.consumer !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.consumer, deadline]);
      clearTimeout(timer);
    }
    return this.pending;
  }

  private async consume(): Promise<void> {
    for (let item = this.waiting.shift(); item !== undefined; item = this.waiting.shift()) {
      this.inFlight = item;
      const placement = placementOf(item.notification);
      const outcome = await this.opts.sink.send(item.message, item.editOnly && placement !== undefined ? { ...placement, step: 'edit' } : placement);
      this.inFlight = undefined;
      this.queuedAt.delete(item);
      this.opts.onOutcome(item, outcome);
    }
    this.consumer = undefined;
  }
}
