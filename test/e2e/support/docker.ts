// The end-to-end suites need a Docker engine. Without one they skip with a
// visible message; with REQUIRE_DOCKER=1 (CI) a missing engine fails the run.
import { execFileSync } from 'node:child_process';

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** True when the suite should run; throws when Docker is required but absent. */
export function requireDockerOrSkip(suite: string): boolean {
  if (dockerAvailable()) return true;
  if (process.env.REQUIRE_DOCKER === '1') {
    throw new Error(`${suite}: REQUIRE_DOCKER=1 but no Docker engine answers (docker info failed)`);
  }
  console.warn(
    `\n*** ${suite}: SKIPPED — no Docker engine answers. Start one (see README) or set REQUIRE_DOCKER=1 to fail instead. ***\n`,
  );
  return false;
}
