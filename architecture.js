// The rooms of the tree and what each may import: the one statement of the
// architecture. eslint.config.js turns it into import-x/no-restricted-paths
// zones, and docs/architecture.md is tied to it by test/lint.
//
// The watcher is a pipeline: each stage may import the stages before it and
// the shared leaf, never one after it. The operator surface reads views from
// the side; no stage imports it.

/** The watcher's shared leaf: types, vocabulary and schemas, no I/O. */
export const WATCHER_LEAF = [
  'watcher/types.ts',
  'watcher/vocabulary.ts',
  'watcher/catalogue.ts',
  'watcher/clock.ts',
  'watcher/config.ts',
  'watcher/history.ts',
  'watcher/statsResponse.ts',
];

/** The watcher's stages in the order data flows through them. */
export const STAGES = ['source', 'parse', 'detect', 'policy', 'state', 'notify', 'heartbeat'];

/**
 * The operator surface, in the order its rooms may import each other:
 * operator runs the HTTP server and keeps the views; metrics and the status
 * page are mounted on it.
 */
export const SURFACE = ['operator', 'metrics', 'page'];

/** Files that only wire the rooms together and may import any of the watcher. */
export const WIRING = ['watcher/pipeline.ts', 'watcher/main.ts'];

/** What each top-level room may import besides itself (a leaf import is always allowed). */
export const ROOMS = {
  common: [],
  app: ['common'],
  watcher: ['common'],
  ops: ['common', 'watcher leaf'],
  // Stand-ins (a webhook receiver, a seeded random source, a free port)
  // that the tests and the benchmarks share.
  testkit: [],
  bench: ['common', 'watcher', 'ops', 'testkit'],
  // The alert gallery (docs/alerts.md): example stories run through the
  // watcher's own policy and Slack formatting, so the page cannot drift.
  gallery: ['common', 'watcher'],
  test: ['common', 'app', 'watcher', 'ops', 'bench', 'testkit', 'gallery'],
};
