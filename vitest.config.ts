import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// End-to-end suites that run side by side (the e2e-paired project), longest
// first (measured): they start in this order, so the long ones do not start
// last and leave the other lanes idle.
const PAIRED = [
  'test/e2e/incidents-outage.test.ts',
  'test/e2e/alertmanager.test.ts',
  'test/e2e/incidents-failover.test.ts',
  'test/e2e/switch-and-alerts.test.ts',
  'test/e2e/failover.test.ts',
  'test/e2e/faults-delivery.test.ts',
  'test/e2e/security.test.ts',
  'test/e2e/slack-app.test.ts',
  'test/e2e/alertmanager-bot.test.ts',
  'test/e2e/nginx-bad-config.test.ts',
];

/** vitest's order (its cache of durations, else file size), with the e2e-paired suites in PAIRED's. */
class PairedInOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = PAIRED.indexOf(relative(spec.project.config.root, spec.moduleId));
      return i < 0 ? -1 : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
const E2E_TIMEOUTS = { testTimeout: 120_000, hookTimeout: 600_000 };
// How many e2e-paired suites run at once. They mostly wait on cooldowns,
// holds and outages at a few requests a second, each on its own stack and
// ports (test/e2e/support/stack.ts gives each of up to 4 workers its own).
const E2E_LANES = 4;
// Workers are set for a whole run, not per project: a run of the e2e projects
// gets the lanes (the e2e project itself keeps to one, singleFork), any other
// two (vitest's default is one less than the cores: one here).
const e2eRun = process.argv.some((arg) => arg.startsWith('e2e'));

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    sequence: { sequencer: PairedInOrder },
    maxWorkers: e2eRun ? E2E_LANES : 2,
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
          // After the e2e project, E2E_LANES at a time.
          globalSetup: ['test/e2e/support/images.ts'],
          sequence: { groupOrder: 2 },
          ...E2E_TIMEOUTS,
        },
      },
    ],
  },
});
