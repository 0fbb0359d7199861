// A scenario runner for the incident model: the real pipeline (detect, policy,
// wording, queue) on an injected clock, fed access records second by second,
// with a sink that records what Slack would have received and when.
import { createLogger } from '../../../common/logger.js';
import type { AlertSink, SlackMessage } from '../../../watcher/notify/index.js';
import { WatcherStats } from '../../../watcher/operator/stats.js';
import { createPipeline, type Pipeline, type PipelineOptions, type PipelineState } from '../../../watcher/pipeline.js';
import type { Control } from '../../../watcher/state/control.js';
import type { AccessRecord, PlannedSwitch } from '../../../watcher/types.js';
import { record } from './records.js';

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

export interface Received {
  /** Seconds since T0 when the message was decided (the queue hands it to the sink at once). */
  at: number;
  text: string;
  message: SlackMessage;
}

export type SimOptions = Partial<
  Pick<PipelineOptions, 'cooldownMs' | 'remindMs' | 'recoveryHoldMs' | 'windowSize' | 'thresholdPercent' | 'poolWindowSize'>
> &
  Partial<Pick<PipelineOptions, 'alertmanager' | 'catchingUp' | 'onStateChange'>> & { restore?: PipelineState; answer?: () => 'delivered' | 'failed'; startSec?: number };

const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';

/** Served by `pool` in one attempt. */
export const served = (pool: 'blue' | 'green'): AccessRecord =>
  record({ pool, release: `${pool}-v1`, upstreamAddrs: [pool === 'blue' ? BLUE : GREEN] });

/** Blue failed (`status`: 500, or 504 for a timeout) and green answered the retry. */
export const failedOver = (status = 500): AccessRecord =>
  record({ pool: 'green', release: 'green-v1', upstreamStatuses: [status, 200], upstreamAddrs: [BLUE, GREEN] });

/** Both pools failed: Nginx's JSON 503, with the header of the last failed attempt. */
export const noPool = (): AccessRecord =>
  record({ status: 503, pool: 'green', release: 'green-v1', upstreamStatuses: [500, 500], upstreamAddrs: [BLUE, GREEN] });

export class Sim {
  private now = T0;
  readonly received: Received[] = [];
  readonly stats: WatcherStats;
  readonly pipeline: Pipeline;
  maintenanceOn = false;
  marker: PlannedSwitch | undefined;
  /** The primary Nginx has published (after a successful reload). */
  published: string | undefined;

  constructor(opts: SimOptions = {}) {
    this.now = T0 + (opts.startSec ?? 0) * 1000;
    const clock = () => this.now;
    const sink: AlertSink = {
      send: async (message) => {
        this.received.push({ at: (this.now - T0) / 1000, text: message.text, message });
        return opts.answer?.() ?? 'delivered';
      },
      close: async () => {},
    };
    const control: Control = { maintenance: () => this.maintenanceOn, plannedSwitch: () => this.marker, publishedPool: () => this.published };
    this.stats = new WatcherStats(clock);
    this.pipeline = createPipeline({
      activePool: 'blue',
      windowSize: opts.windowSize ?? 200,
      poolWindowSize: opts.poolWindowSize ?? 100,
      thresholdPercent: opts.thresholdPercent ?? 2,
      recoveryHoldMs: opts.recoveryHoldMs ?? 10_000,
      cooldownMs: opts.cooldownMs ?? 60_000,
      remindMs: opts.remindMs ?? 0,
      queueSize: 100,
      runbookUrl: 'https://runbook.example/runbook.md',
      clock,
      control,
      sink,
      stats: this.stats,
      logger: createLogger('sim', 'silent'),
      restore: opts.restore,
      ...(opts.alertmanager === undefined ? {} : { alertmanager: opts.alertmanager }),
      catchingUp: opts.catchingUp,
      onStateChange: opts.onStateChange,
    });
  }

  /** The clock the pipeline runs on, for what runs beside it (an Alertmanager notifier). */
  readonly clock = (): number => this.now;

  /** Seconds since T0. */
  get t(): number {
    return (this.now - T0) / 1000;
  }

  /**
   * Runs second by second from now to `untilSec`: each second, `perSecond`
   * records made by `make(i)` (i counts records from the call's start), then
   * a tick. Returns after the queue has handed every decided message to the sink.
   */
  async run(untilSec: number, perSecond: number, make: (i: number, sec: number) => AccessRecord): Promise<void> {
    let i = 0;
    while (this.t < untilSec) {
      const second = Math.floor(this.t);
      for (let k = 0; k < perSecond; k++) {
        this.now = T0 + second * 1000 + Math.floor((k * 1000) / perSecond);
        this.pipeline.onLine(toLine(make(i++, second)));
      }
      this.now = T0 + (second + 1) * 1000;
      this.pipeline.tick();
      await flush();
    }
  }

  /** Seconds of silence: only ticks. */
  async idle(untilSec: number): Promise<void> {
    while (this.t < untilSec) {
      this.now = T0 + (Math.floor(this.t) + 1) * 1000;
      this.pipeline.tick();
      await flush();
    }
  }

  /** Headlines received, with the second they were decided. */
  messages(): Array<[number, string]> {
    return this.received.map((r) => [Math.round(r.at), r.text]);
  }
}

/** Lets the delivery queue hand queued messages to the sink. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The record as Nginx would have logged it, so the scenarios run the real parser too. */
export function toLine(r: AccessRecord): string {
  const q = (v: string | undefined) => `"${v ?? '-'}"`;
  return (
    `time=${r.time ?? '-'} rid=${r.requestId ?? '-'} method=${r.method ?? '-'} path=${q(r.path)} status=${r.status} ` +
    `pool=${q(r.pool)} release=${q(r.release)} upstream_status=${q(r.upstreamStatuses.join(', ') || undefined)} ` +
    `upstream_addr=${q(r.upstreamAddrs.join(', ') || undefined)} request_time=${r.requestMs === undefined ? '-' : seconds(r.requestMs)} ` +
    `upstream_response_time=${q(r.upstreamResponseMs.map(seconds).join(', ') || undefined)} bytes=98`
  );
}

/** ms as Nginx writes a time: seconds with three decimals. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}
