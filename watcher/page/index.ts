// The watcher's live status page: GET / and its assets, and GET /events,
// the Server-Sent Events that keep it current. The caller owns the data:
// `status()` and `series()` are read on each push, `changed()` and
// `seriesChanged()` say when to push.
import type { Handler } from '../operator/server.js';
import { assetRoutes, SECURITY_HEADERS } from './assets.js';
import { createEventHub, type EventHubOptions } from './events.js';

export type { OpenIncident, PageSeries, PageStatus, PoolSeries, PoolStatus } from './model.js';
export { SeriesRecorder, STEP_SEC, STEPS } from './series.js';
export { pageStatus, type PageStatusInput } from './status.js';
export { createHistoryReader, HISTORY_SHOWN, type HistoryReaderOptions } from './history.js';

export interface StatusPageOptions extends Omit<EventHubOptions, 'headers'> {
  /** Where index.html, page.js and page.css are (a directory URL, ending in `/`); see assets.ts. */
  staticDir?: URL;
}

export interface StatusPage {
  /** Exact paths for startHttpServer: `/`, `/events` and `/assets/...`. */
  routes: Record<string, Handler>;
  /** The status changed: pushed within ~100 ms (at once after a quiet spell). */
  changed(): void;
  /** A series step closed. */
  seriesChanged(): void;
  /** Open event streams. */
  streams(): number;
  /** Ends the event streams and stops the page's timers. */
  close(): void;
}

/** Reads the page's files now: throws, naming the file, if one is missing. */
export function createStatusPage(opts: StatusPageOptions): StatusPage {
  const routes = assetRoutes(opts.staticDir);
  const { staticDir: _, ...hubOptions } = opts;
  const hub = createEventHub({ ...hubOptions, headers: SECURITY_HEADERS });
  return {
    routes: { ...routes, '/events': hub.handler },
    changed: hub.changed,
    seriesChanged: hub.seriesChanged,
    streams: hub.streams,
    close: hub.close,
  };
}
