// vitest globalSetup of the e2e projects: build the stack's two images once,
// before any suite starts a stack. Each suite's start builds them too (it
// must run what the sources say), and two suites side by side would each
// export its own image under the same tag when a source changed: same
// layers, a new image id for whichever finished last, and then a container
// that runs an image its tag no longer names, which the next `up` re-creates
// (a "make up re-creates nothing" test failing for no fault of the stack).
// Built here first, later builds are mostly the cache's, with the same id;
// not always with four suites building at once (seen), so the suite that
// checks `make up` re-creates nothing builds a tag of its own (startStack's
// ownImages).
import { execFileSync } from 'node:child_process';
import { dockerAvailable } from './docker.js';

export default function buildImages(): void {
  // Without an engine the suites say so and skip (or fail, REQUIRE_DOCKER=1).
  if (!dockerAvailable()) return;
  const started = Date.now();
  console.log('[e2e] building the stack images once (docker compose build)…');
  execFileSync('docker', ['compose', '--env-file', '/dev/null', 'build', '--quiet', 'nginx', 'alert_watcher'], {
    stdio: 'inherit',
    env: { ...process.env, IMAGE_TAG: process.env.E2E_IMAGE_TAG ?? 'local' },
  });
  console.log(`[e2e] images built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
