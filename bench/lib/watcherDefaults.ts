// The watcher's defaults, read from its config schema, so a benchmark
// measures what ships and follows when a default changes.
import { pipelineSettings, watcherConfigSchema } from '../../watcher/config.js';

export const WATCHER_DEFAULTS = watcherConfigSchema
  .pick({
    WINDOW_SIZE: true,
    POOL_WINDOW_SIZE: true,
    ERROR_RATE_THRESHOLD: true,
    RECOVERY_HOLD_SEC: true,
    ALERT_COOLDOWN_SEC: true,
    ALERT_REMIND_SEC: true,
    SLACK_QUEUE_SIZE: true,
    RUNBOOK_URL: true,
    LOG_POLL_INTERVAL_MS: true,
    MAX_LINE_BYTES: true,
  })
  .parse({});

/** The pipeline's settings as the watcher derives them from its defaults. */
export const DEFAULT_SETTINGS = pipelineSettings(WATCHER_DEFAULTS);
