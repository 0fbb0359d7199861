// The watcher's defaults, read from its config schema, so a benchmark
// measures what ships and follows when a default changes.
import { defaultPipelineSettings, watcherConfigFields } from '../../watcher/config.js';

/** The source's defaults (the pipeline's are DEFAULT_SETTINGS). */
export const WATCHER_DEFAULTS = watcherConfigFields.pick({ LOG_POLL_INTERVAL_MS: true, MAX_LINE_BYTES: true }).parse({});

/** The pipeline's settings as the watcher derives them from its defaults. */
export const DEFAULT_SETTINGS = defaultPipelineSettings();
