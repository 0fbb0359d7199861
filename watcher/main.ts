// The alert_watcher daemon: wiring only. Stages live in pipeline.ts and the
// files it names.
import { createCheckpoint } from './state/checkpoint.js';
import { loadWatcherConfig, pipelineSettings } from './config.js';
import { HEARTBEAT_OFF, HealthCheck, startHeartbeat, type Heartbeat } from './heartbeat/index.js';
import { startRunMarker } from './state/runMarker.js';
import { createControl, readPublishedPool } from './state/control.js';
import { createOutbox } from './state/outbox.js';
import { createExporter, DeliveryRequests } from './metrics/index.js';
import { json, startHttpServer, type HttpServer } from './operator/server.js';
import { createHistoryReader, createStatusPage, pageStatus, SeriesRecorder } from './page/index.js';
import { createAlertmanagerNotifier, createDryRunSink, createSlackAppClient, createSlackClient, type AlertSink } from './notify/index.js';
import { createThreadStore } from './state/slackThreads.js';
import { incidentThread } from './notify/slackThreads.js';
import { createPipeline } from './pipeline.js';
import { startSource, type Source } from './source/index.js';
import { WatcherStats } from './operator/stats.js';
import { steadyClock } from './clock.js';
import type { DeliveryFailure } from './vocabulary.js';

const { config, logger } = loadWatcherConfig();
// Durations run on the steady clock (clock.ts); what other processes write or
// read (control files, the run marker, the history) keeps the wall clock.
const steady = steadyClock();
const clock = steady.now;

let sink: AlertSink;
let delivery: string;
const requests = { slack: new DeliveryRequests(), alertmanager: new DeliveryRequests() };
// The last attempt's reason, for /healthz and the heartbeat: what a failed delivery needs fixed.
let slackReason: string | undefined;
const slackTimeouts = {
  connectTimeoutMs: config.SLACK_CONNECT_TIMEOUT_MS,
  timeoutMs: config.SLACK_TIMEOUT_MS,
  retryForMs: config.SLACK_RETRY_FOR_SEC * 1000,
  backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
  maxBackoffMs: config.RETRY_BACKOFF_MAX_MS,
  logger,
  onAttempt(durationMs: number, failure: DeliveryFailure | undefined, reason: string | undefined) {
    requests.slack.record(durationMs, failure);
    slackReason = reason;
  },
};
// With a bot token: where each incident's message is (the status page links to it).
const threads = config.SLACK_BOT_TOKEN === undefined ? undefined : createThreadStore({ dir: config.CONTROL_DIR, logger, now: Date.now });
if (threads !== undefined && config.SLACK_BOT_TOKEN !== undefined && config.SLACK_CHANNEL !== undefined) {
  if (config.SLACK_WEBHOOK_URL !== undefined) logger.warn('SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL are both set: posting with the bot token; the webhook is not used');
  sink = createSlackAppClient({
    ...slackTimeouts,
    token: config.SLACK_BOT_TOKEN,
    channel: config.SLACK_CHANNEL,
    apiUrl: config.SLACK_API_URL,
    threads,
  });
  delivery = `${new URL(config.SLACK_API_URL).host} (channel ${config.SLACK_CHANNEL})`;
} else if (config.SLACK_WEBHOOK_URL === undefined) {
  sink = createDryRunSink(logger);
  delivery = 'dry-run';
  if (config.ALERTMANAGER_URL.length === 0) logger.warn('neither SLACK_BOT_TOKEN nor SLACK_WEBHOOK_URL is set: dry-run, alerts are logged instead of posted');
  else logger.info('no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL: incidents go to Alertmanager only; the watcher logs its own messages instead of posting them');
} else {
  const webhook = new URL(config.SLACK_WEBHOOK_URL);
  sink = createSlackClient({ ...slackTimeouts, webhookUrl: config.SLACK_WEBHOOK_URL });
  delivery = webhook.host;
  if (webhook.protocol === 'http:') {
    logger.warn({ host: webhook.host }, 'SLACK_WEBHOOK_URL is plain http: fine for a local receiver, never for Slack');
  }
}

const settings = pipelineSettings(config);
if (config.RUNBOOK_URL !== '' && settings.runbookUrl === undefined) {
  logger.warn({ RUNBOOK_URL: config.RUNBOOK_URL }, 'RUNBOOK_URL is not an http(s) URL: alerts carry no runbook link');
}

// ALERTMANAGER_URL: incidents to Alertmanager as well (or, with no webhook, instead).
const alertmanager =
  config.ALERTMANAGER_URL.length === 0
    ? undefined
    : createAlertmanagerNotifier({
        urls: config.ALERTMANAGER_URL,
        stack: config.ALERTMANAGER_STACK,
        instance: config.ALERTMANAGER_INSTANCE,
        resendMs: config.ALERTMANAGER_RESEND_SEC * 1000,
        timeoutMs: config.ALERTMANAGER_TIMEOUT_MS,
        retryForMs: config.ALERTMANAGER_RETRY_FOR_SEC * 1000,
        backoffBaseMs: config.RETRY_BACKOFF_BASE_MS,
        maxBackoffMs: config.RETRY_BACKOFF_MAX_MS,
        runbookUrl: settings.runbookUrl,
        logger,
        clock,
        wall: Date.now,
        onAttempt: (durationMs, failure) => requests.alertmanager.record(durationMs, failure),
      });
if (alertmanager !== undefined) delivery = `${delivery} + alertmanager (${config.ALERTMANAGER_URL.map((u) => new URL(u).host).join(', ')})`;

const control = createControl({
  dir: config.CONTROL_DIR,
  defaultMaintenance: config.MAINTENANCE_MODE,
  clock: Date.now,
  logger,
  publishedPoolFile: config.ACTIVE_POOL_FILE,
});
// Time passes for the pipeline (recovery holds, cooldowns, reminders) and the
// position is saved between decisions this often; see state/checkpoint.ts.
const TICK_MS = 1000;

const checkpoint = createCheckpoint({ dir: config.CONTROL_DIR, clock, logger, activePool: config.ACTIVE_POOL });
const saved = checkpoint.load();
const runMarker = startRunMarker({ dir: config.CONTROL_DIR, clock: Date.now, logger });
if (runMarker.uncleanSince !== undefined) {
  logger.warn({ downSince: new Date(runMarker.uncleanSince).toISOString() }, 'the previous run ended without a clean stop');
}
// Nginx's published pool is the truth about the primary, then ACTIVE_POOL as
// this container was given it (a new Kubernetes pod's, from the ConfigMap),
// both over saved state: a switch may have happened while the watcher was
// down, and the detector then closes the old primary's incidents.
const published = readPublishedPool(config.ACTIVE_POOL_FILE, logger);
const activePool = (published as typeof config.ACTIVE_POOL | undefined) ?? config.ACTIVE_POOL;
const stats = new WatcherStats(clock);
// Declared before the pipeline, whose state callbacks read its position (and
// may run before startSource returns: a const would not exist yet).
let source: Source | undefined;
// The page reads the pipeline only when it pushes, which no line can ask for before both exist.
const series = new SeriesRecorder();
const history = createHistoryReader({ dir: config.CONTROL_DIR, clock: Date.now, logger });
const page = createStatusPage({
  status: () => {
    const view = pipeline.view();
    return pageStatus({
      view,
      releases: view.releases,
      recentAlerts: stats.recentAlerts(),
      history: history(),
      delivery,
      now: clock(),
      slackUrl: (id) => threads?.get(incidentThread(id))?.url,
    });
  },
  series: () => series.series(),
  logger,
});

const pipeline = createPipeline({
  ...settings,
  activePool,
  clock,
  wall: Date.now,
  control,
  outbox: createOutbox({ controlDir: config.CONTROL_DIR, logger }),
  sink,
  editInPlace: config.SLACK_BOT_TOKEN !== undefined,
  ...(alertmanager === undefined ? {} : { alertmanager }),
  stats,
  logger,
  restore: saved,
  // The source resumes there, reading first what was written while the watcher was down.
  catchingUp: saved?.position !== undefined,
  startNotices:
    runMarker.uncleanSince === undefined ? [] : [{ kind: 'watcher_restarted', message: 'notice', at: clock(), downSince: runMarker.uncleanSince }],
  onStateChange() {
    saveState();
    page.changed();
  },
});
// eslint-disable-next-line prefer-const -- see its declaration
source = startSource({
  path: config.LOG_PATH,
  pollIntervalMs: config.LOG_POLL_INTERVAL_MS,
  maxLineBytes: config.MAX_LINE_BYTES,
  logger,
  onLine: pipeline.onLine,
  onDroppedLine: pipeline.onDroppedLine,
  onCaughtUp: pipeline.caughtUp,
  start: saved?.position,
});
// A log that cannot be read to its end (an I/O error that persists) must not
// hold every decision and save back for good: past this, what was read counts as read.
const CATCH_UP_LIMIT_MS = 60_000;
setTimeout(() => {
  if (!pipeline.catchingUp) return;
  logger.warn({ limitMs: CATCH_UP_LIMIT_MS, source: source?.status() }, 'still reading the log written while the watcher was down: deciding on what was read so far');
  pipeline.caughtUp();
}, CATCH_UP_LIMIT_MS).unref();

/** Saves position and pipeline state; the checkpoint skips a state it already holds. */
function saveState(): void {
  // Mid-backlog, what was read is not decided yet: the saved position stays before it, to be read again.
  if (pipeline.catchingUp) return;
  // Undefined until the log exists and holds a byte: nothing to resume yet.
  const position = source?.position();
  if (position !== undefined) checkpoint.save({ position, ...pipeline.state() });
}
const ticker = setInterval(() => {
  pipeline.tick();
  saveState();
  runMarker.touch();
  if (series.sample(clock(), pipeline.traffic.totals(pipeline.view().pools))) page.seriesChanged();
  // Maintenance switched, a history entry, a hold running out: things no line announces.
  page.changed();
}, TICK_MS);

const exporter = createExporter({
  traffic: pipeline.traffic,
  view: pipeline.view,
  source: () => source!.status(),
  lines: () => stats.lines,
  alerts: () => stats.byKind,
  delivery: requests,
});

const health = new HealthCheck(config.HEARTBEAT_INTERVAL_SEC * 1000);
const checkHealth = () =>
  health.check({
    now: clock(),
    source: source!.status(),
    delivery: { ...pipeline.deliveryHealth(), ...(slackReason === undefined ? {} : { failedReason: slackReason }) },
    alertmanagers: alertmanager?.status() ?? [],
  });
const heartbeat: Heartbeat =
  config.HEARTBEAT_URL === undefined
    ? HEARTBEAT_OFF
    : startHeartbeat({
        url: config.HEARTBEAT_URL,
        intervalMs: config.HEARTBEAT_INTERVAL_SEC * 1000,
        check: checkHealth,
        logger,
        clock,
      });

let http: HttpServer;
try {
  http = await startHttpServer({
    port: config.WATCHER_PORT,
    routes: {
      // 200 while the process serves (a restart fixes neither a revoked webhook nor a dead Slack); the
      // body says whether the watcher does its job, as the heartbeat does.
      '/healthz': json(() => {
        const h = checkHealth();
        return h.healthy ? { status: 'ok', healthy: true } : { status: 'ok', healthy: false, reason: h.reason };
      }),
      '/stats': json(() => stats.snapshot(pipeline.view(), source!.status(), { delivery, heartbeat: heartbeat.status() })),
      '/metrics': exporter.handler,
      ...page.routes,
    },
    logger,
  });
} catch (err) {
  logger.fatal({ port: config.WATCHER_PORT, error: (err as Error).message }, 'cannot start the http server');
  process.exit(1);
}

logger.info(
  {
    servingPool: activePool,
    poolFrom: published === undefined ? 'ACTIVE_POOL' : config.ACTIVE_POOL_FILE,
    delivery,
    heartbeat: heartbeat.status().url,
    maintenance: control.maintenance(),
    logPath: config.LOG_PATH,
  },
  `watcher started: serving pool ${activePool}, alerts to ${delivery}`,
);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  clearInterval(ticker);
  // A stopped watcher watches nothing: the switch's silence is right.
  await heartbeat.stop();
  page.close();
  await source?.stop();
  const unsent = await pipeline.drain(config.SHUTDOWN_TIMEOUT_MS);
  // Unsent alerts stay in the saved state: the next start sends them.
  saveState();
  runMarker.remove();
  if (unsent > 0) logger.error({ unsent }, 'shutdown timeout: alerts left unsent; the next start sends them');
  await Promise.all([http.close(), sink.close(), alertmanager?.close(config.SHUTDOWN_TIMEOUT_MS)]);
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
