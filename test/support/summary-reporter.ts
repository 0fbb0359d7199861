// Ends the run with one plain line, `tests: N passed, N failed, N skipped`,
// that CI logs and tools read without knowing vitest's own summary format.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  private line = '';

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    this.line = `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
  }

  // onFinished runs after the default reporter's summary, so the line closes the output.
  onFinished(): void {
    if (this.line) process.stdout.write(`\n${this.line}\n`);
  }
}
