// The one dev-side module for driving the stack from the host: its settings,
// the Makefile targets, chaos, load and the watcher's /stats. The release
// tool, the drill, the benchmarks and the end-to-end tests all use it.
export * from './settings.js';
export * from './stack.js';
export * from './replicas.js';
export * from './load.js';
export * from './cpu.js';
export * from './run.js';
export * from './envFile.js';
export * from './checks.js';
