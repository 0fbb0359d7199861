import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
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
          // The suites share host ports and one Docker engine: run them one at a time.
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
