// The operator surface: the HTTP server (server.ts), /healthz and /stats (stats.ts); the `ctl`
// command the Makefile runs in the container is its own program (ctl.ts).
export { startHttpServer, reply, json, type Handler, type HttpServer } from './server.js';
export { WatcherStats, type PipelineView, type RecentAlert, type StatsSnapshot } from './stats.js';
