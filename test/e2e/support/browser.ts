// The status page in a real browser for the end-to-end suites: the shared
// driver (ops/stack/browser.ts), its screenshots kept as test artifacts, and
// the visible skip when Chromium is missing.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM } from '../../../ops/stack/browser.js';
import { ROOT } from './stack.js';

export { openPage } from '../../../ops/stack/browser.js';

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

/** test/artifacts/<name>.png, its folder made: where a screenshot of a run goes. */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}

/**
 * True when Chromium is there. Like Docker (support/docker.ts): without it a
 * browser test skips with a visible message, and REQUIRE_DOCKER=1 (CI, which
 * installs the package) makes it a failure instead.
 */
export function requireChromiumOrSkip(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `no Chromium at ${CHROMIUM}: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH`;
  if (process.env.REQUIRE_DOCKER === '1') throw new Error(`${suite}: REQUIRE_DOCKER=1 but ${why}`);
  console.warn(`\n*** ${suite}: SKIPPED — ${why}. ***\n`);
  return false;
}
