// vitest globalSetup: compile once, so tests that spawn the real programs
// (`node dist/app/main.js`, `node dist/watcher/main.js`) run what ships, and
// the host tools (`make switch`, `make release`: dist/ops/) are current before
// suites that run side by side call them, so none of them compiles meanwhile.
import { execFileSync } from 'node:child_process';

export default function build(): void {
  for (const project of ['tsconfig.build.json', 'tsconfig.bench.json']) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
  }
}
