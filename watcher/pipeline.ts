// The watcher's stages, wired for one line at a time:
//   source/ → parse/ → detect/ → policy/ → notify/ (queue → Slack | dry-run)
//                            ↘ metrics/ (counted per line, exported on scrape)
// Everything here is synchronous up to the queue, so a slow Slack never holds
// up the log reader. Lines drive the detector; a tick (once a second) lets
// time pass for what no line triggers: a recovery hold running out, a
// cooldown ending, a reminder falling due, maintenance ending; it also brings
// in the release notices `ctl record` left in the outbox.
// After a restart, the log written while the watcher was down is read first
// (catching up): the detector runs on the lines' own time meanwhile, and the
// policy hears the outcome once the source has caught up (detect/backlog.ts).
import type { Logger } from '../common/logger.js';
import { poolName } from '../common/config.js';
import { Backlog } from './detect/backlog.js';
import { Detector, type DetectorState } from './detect/index.js';
import type { DeliveryHealth } from './heartbeat/index.js';
import { TrafficMetrics } from './metrics/index.js';
import { DeliveryQueue, formatSlackMessage, type AlertmanagerNotifier, type AlertSink, type QueuedAlert } from './notify/index.js';
import type { PipelineView, RecentAlert, WatcherStats } from './operator/stats.js';
import { logTimeMs, parseLine } from './parse/index.js';
import {
  NotifyPolicy,
  type NoticeNotification,
  type Notification,
  type PolicyResult,
  type PolicyState,
} from './policy/index.js';
import type { DroppedLine } from './source/index.js';
import type { PipelineSettings } from './config.js';
import type { Control } from './state/control.js';
import type { Outbox } from './state/outbox.js';
import type { AccessRecord, Clock, PlannedSwitch } from './types.js';
import { reachedItsSink } from './vocabulary.js';

// A flood of bad lines must not become a flood of log lines.
const BAD_LINE_LOG_EVERY_MS = 10_000;
const SAMPLE_CHARS = 200;

export interface PipelineOptions extends PipelineSettings {
  activePool: string;
  /** Monotonic (clock.ts): every duration the stages measure. */
  clock: Clock;
  /** The wall clock, for what other processes wrote (a planned switch's expiry); defaults to `clock`. */
  wall?: Clock;
  control: Control;
  /** Where release notices come from; none without one. */
  outbox?: Outbox;
  sink: AlertSink;
  /**
   * The sink keeps one message per incident (a bot token): a change the
   * cooldown holds back still edits that message at once, since an edit
   * notifies nobody; its reply in the thread waits for the cooldown.
   */
  editInPlace?: boolean;
  /** ALERTMANAGER_URL: every open and resolved condition, whatever the policy decides (notify/alertmanager.ts). */
  alertmanager?: Pick<AlertmanagerNotifier, 'observe' | 'observeRestored' | 'observePast'>;
  stats: WatcherStats;
  logger: Logger;
  /** A previous run's state: the detector and policy carry on, undelivered messages are sent again. */
  restore?: PipelineState;
  /**
   * The source starts with what the log holds from the watcher's time away (a
   * saved position): the detector runs on the log's time, and the policy
   * waits, until caughtUp().
   */
  catchingUp?: boolean;
  /** News from the start itself (the watcher was down): decided before anything else, so it is said first. */
  startNotices?: NoticeNotification[];
  /**
   * Called, synchronously, after each decision and after each delivery ends:
   * the moment to checkpoint, while the source is still at the line that
   * caused it.
   */
  onStateChange?(): void;
}

export interface PipelineState {
  detector: DetectorState;
  policy: PolicyState;
  pending: Notification[];
}

export interface Pipeline {
  /** Requests and durations per pool, counted from every parsed line. */
  readonly traffic: TrafficMetrics;
  onLine(line: string): void;
  onDroppedLine(dropped: DroppedLine): void;
  /** The source has read what the log held at start: from now on lines are live. */
  caughtUp(): void;
  /** Still reading the backlog: nothing it read is decided yet, so there is nothing to save. */
  readonly catchingUp: boolean;
  /** Lets time pass: call about once a second. */
  tick(): void;
  view(): PipelineView;
  /** How delivery is going, for the heartbeat. */
  deliveryHealth(): DeliveryHealth;
  /** Sends what is queued, for at most `timeoutMs`; returns how many messages are left unsent. */
  drain(timeoutMs: number): Promise<number>;
  state(): PipelineState;
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { clock, control, outbox, stats } = opts;
  const log = opts.logger.child({ component: 'pipeline' });
  const wall = opts.wall ?? clock;
  // `make switch` wrote the marker's times by the wall clock: moved onto the pipeline's.
  const onClock = (marker: PlannedSwitch | undefined): PlannedSwitch | undefined => {
    if (marker === undefined) return undefined;
    const shift = clock() - wall();
    return { ...marker, createdAt: marker.createdAt + shift, expiresAt: marker.expiresAt + shift };
  };
  let backlog: Backlog | undefined;
  // While catching up, the log's time (never ahead of the clock, whose steps it may carry).
  const detectorClock: Clock = () => {
    const logNow = backlog?.now;
    return logNow === undefined ? clock() : Math.min(logNow, clock());
  };
  const detector = new Detector({
    activePool: opts.activePool,
    windowSize: opts.windowSize,
    poolWindowSize: opts.poolWindowSize,
    thresholdPercent: opts.thresholdPercent,
    recoveryHoldMs: opts.recoveryHoldMs,
    clock: detectorClock,
    plannedSwitch: () => onClock(control.plannedSwitch()),
    publishedPrimary: () => control.publishedPool(),
    restore: opts.restore?.detector,
  });
  const traffic = new TrafficMetrics({ pools: poolName.options, attribution: detector.attribution });
  // What a previous run left open, Alertmanager may hold firing under this watcher's name: tracked
  // from the start, so its end is posted however soon it comes (before the first line, or in the backlog).
  const restored = detector.conditions(clock());
  if (opts.restore !== undefined) opts.alertmanager?.observeRestored(restored, control.maintenance());
  if (opts.catchingUp) backlog = new Backlog(restored);
  const policy = new NotifyPolicy({ cooldownMs: opts.cooldownMs, remindMs: opts.remindMs, restore: opts.restore?.policy });
  const stateChanged = opts.onStateChange ?? (() => {});
  // Each queued message's /stats entry, settled when its delivery ends.
  const entries = new Map<QueuedAlert, RecentAlert>();
  let deliveryFailedAt: number | undefined;
  const queue = new DeliveryQueue({
    capacity: opts.queueSize,
    sink: opts.sink,
    logger: opts.logger,
    clock,
    onOutcome(item, outcome) {
      // An edit ahead of the cooldown is no word of the policy's: the message it defers follows.
      if (item.editOnly) return;
      policy.settled(item.notification, outcome);
      deliveryFailedAt = reachedItsSink(outcome) ? undefined : clock();
      const entry = entries.get(item);
      entries.delete(item);
      if (entry !== undefined) stats.settle(entry, outcome);
      stateChanged();
    },
  });
  for (const notice of opts.startNotices ?? []) handle(policy.notice(notice, control.maintenance()));
  const resend = opts.restore?.pending ?? [];
  if (resend.length > 0) log.warn({ count: resend.length }, 'sending messages left undelivered by the previous run');
  for (const notification of resend) handle({ decision: 'send', notification });

  const reportMalformed = throttledWarning(log, 'skipped malformed access-log lines', clock);
  const reportTooLong = throttledWarning(log, 'dropped access-log lines longer than MAX_LINE_BYTES', clock);

  function handle({ decision, notification }: PolicyResult): void {
    const message = formatSlackMessage(notification, { runbookUrl: opts.runbookUrl });
    const entry = stats.decided(notification.kind, notification.message, message.text, decision);
    log.info({ kind: notification.kind, message: notification.message, text: message.text, decision }, `alert: ${decision}`);
    if (decision === 'defer' && opts.editInPlace && notification.message !== 'notice') queue.enqueue({ notification, message, editOnly: true });
    if (decision !== 'send') return;
    const item = { notification, message };
    entries.set(item, entry);
    queue.enqueue(item);
  }

  /** Asks the policy about every condition and notice now; true when it decided anything. */
  function evaluate(notices: readonly NoticeNotification[] = []): boolean {
    const now = clock();
    const maintenance = control.maintenance();
    let decided = false;
    for (const notice of [...detector.takeNotices(), ...notices]) {
      handle(policy.notice(notice, maintenance));
      decided = true;
    }
    const views = detector.conditions(now);
    // Alertmanager hears the conditions themselves; its routes, not the policy, decide what Slack hears.
    opts.alertmanager?.observe(views, maintenance);
    for (const result of policy.evaluate(now, views, maintenance)) {
      handle(result);
      decided = true;
    }
    return decided;
  }

  /** A backlog line: on the log's time, the holds looked at each second of it, the outcome kept for caughtUp(). */
  function catchUp(record: AccessRecord): void {
    const b = backlog!;
    let changed = b.advance(logTimeMs(record)) && detector.tick(detectorClock());
    changed = detector.observe(record) || changed;
    traffic.observe(record);
    if (changed) b.observe(detector.conditions(detectorClock()));
  }

  /** The backlog's end: the clock takes over from the log's time (holds it outlasted end now); what opened and ended in it. */
  function finishBacklog(b: Backlog) {
    const now = clock();
    if (detector.tick(now)) b.observe(detector.conditions(now));
    return b.takePast();
  }

  return {
    traffic,
    onLine(line) {
      stats.lines.read++;
      const parsed = parseLine(line);
      if (!parsed.ok) {
        stats.lines.malformed++;
        reportMalformed({ reason: parsed.reason, sample: line.slice(0, SAMPLE_CHARS) });
        return;
      }
      if (backlog !== undefined) return void catchUp(parsed.record);
      const changed = detector.observe(parsed.record);
      traffic.observe(parsed.record);
      if (!changed) return;
      evaluate();
      // A condition that changed is worth a save even when nothing was sent.
      stateChanged();
    },
    onDroppedLine({ bytes, sample }) {
      stats.lines.droppedTooLong++;
      reportTooLong({ bytes, sample });
    },
    caughtUp() {
      if (backlog === undefined) return;
      const past = finishBacklog(backlog);
      backlog = undefined;
      const now = clock();
      if (past.length > 0) log.info({ count: past.length }, 'read incidents that opened and ended while the watcher was down: telling them after the fact');
      opts.alertmanager?.observePast(past);
      evaluate(past.map(({ view, openedAt, resolvedAt }) => ({ kind: 'past_incident', message: 'notice', at: now, condition: view, openedAt, resolvedAt })));
      stateChanged();
    },
    get catchingUp() {
      return backlog !== undefined;
    },
    tick() {
      // Time passes in the log's lines until the backlog is read; the policy hears of it then.
      if (backlog !== undefined) return;
      const now = clock();
      const resolved = detector.tick(now);
      const taken = outbox?.take() ?? [];
      const notices = taken.map(({ entry }): NoticeNotification => ({ kind: 'release', message: 'notice', at: now, entry }));
      if (evaluate(notices) || resolved) stateChanged();
      // Only now that the notices are queued and saved: a crash before this
      // announces them again instead of never.
      for (const notice of taken) outbox?.done(notice);
    },
    view: () => ({
      servingPool: detector.servingPool,
      primaryPool: detector.primaryPool,
      maintenance: control.maintenance(),
      window: detector.windowStats(),
      pools: detector.poolShares(),
      incidents: policy.open(),
      releases: detector.releases(),
      queued: queue.pending,
    }),
    deliveryHealth: () => {
      const waitingSince = queue.waitingSince();
      return {
        ...(waitingSince === undefined ? {} : { waitingSince }),
        ...(deliveryFailedAt === undefined ? {} : { failedAt: deliveryFailedAt }),
      };
    },
    drain: (timeoutMs) => queue.drain(timeoutMs),
    state: () => ({
      detector: detector.state(),
      policy: policy.state(),
      pending: queue.items().flatMap(({ notification, editOnly }) => (editOnly ? [] : [notification])),
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
