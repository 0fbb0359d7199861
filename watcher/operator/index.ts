// The operator surface: /healthz and /stats (health.ts, stats.ts); the `ctl`
// command the Makefile runs in the container is its own program (ctl.ts).
export { startHealthServer, type HealthServer } from './health.js';
export { WatcherStats, type PipelineView, type RecentAlert, type StatsSnapshot } from './stats.js';
