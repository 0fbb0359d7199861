// vitest globalSetup: compile once, so tests that spawn the real programs
// (`node dist/app/main.js`, `node dist/watcher/main.js`) run what ships.
import { execFileSync } from 'node:child_process';

export default function build(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
