import { defineConfig } from 'vitest/config';

// End-to-end suites that run two at a time (the e2e-paired project).
const PAIRED = [
  'test/e2e/incidents.test.ts',
  'test/e2e/alertmanager.test.ts',
  'test/e2e/switch-and-alerts.test.ts',
  'test/e2e/failover.test.ts',
  'test/e2e/security.test.ts',
  'test/e2e/nginx-bad-config.test.ts',
  'test/e2e/faults-delivery.test.ts',
];
const E2E_TIMEOUTS = { testTimeout: 120_000, hookTimeout: 600_000 };

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Two files at a time (vitest's own default is one less than the cores:
    // one here): the unit files and the e2e-paired suites; the e2e project
    // keeps to one (singleFork).
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          globalSetup: ['test/support/build.ts'],
          testTimeout: 20_000,
          // Before e2e: the e2e drill rebuilds dist/ (npm run drill), which the
          // integration tests run; and container load would skew their timings.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: PAIRED,
          // Load, releases and the drill keep the host's two cores busy, and
          // their bars (no failed request under load) need them: one at a time.
          poolOptions: { forks: { singleFork: true } },
          globalSetup: ['test/e2e/support/images.ts'],
          sequence: { groupOrder: 1 },
          ...E2E_TIMEOUTS,
        },
      },
      {
        test: {
          name: 'e2e-paired',
          include: PAIRED,
          // Suites that mostly wait (cooldowns, holds, a 60 s outage) at a few
          // requests a second: two at a time, each worker on its own ports
          // (test/e2e/support/stack.ts), after the e2e project.
          globalSetup: ['test/e2e/support/images.ts'],
          sequence: { groupOrder: 2 },
          ...E2E_TIMEOUTS,
        },
      },
    ],
  },
});
