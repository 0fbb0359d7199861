// CONTROL_DIR/running exists while the watcher runs and is gone after a clean
// stop. Found at start, it means the last run ended without one (SIGKILL, a
// crash, the OOM killer, the host losing power): the watcher was blind from
// the marker's last touch until now, and on-call should hear it. Touching
// its mtime once a second is one syscall, against a rewrite of the state.
import { closeSync, openSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { Clock } from '../types.js';

export const RUN_MARKER = 'running';

export interface RunMarker {
  /** When the previous run was last alive, if it ended without a clean stop. */
  readonly uncleanSince: number | undefined;
  /** Call about once a second: the last touch is the best guess at when a crash happened. */
  touch(): void;
  /** After a clean stop, when the state is saved. */
  remove(): void;
}

export function startRunMarker(opts: { dir: string; clock: Clock; logger: Logger }): RunMarker {
  const path = join(opts.dir, RUN_MARKER);
  const log = opts.logger.child({ component: 'run-marker' });
  let failing = false;
  let uncleanSince: number | undefined;
  try {
    uncleanSince = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  } catch (err) {
    // ENOTDIR, EACCES: touch() below says it once; the watcher itself goes on.
    log.debug({ path, error: (err as Error).message }, 'cannot look for the run marker');
  }
  const touch = () => {
    try {
      const now = new Date(opts.clock());
      try {
        utimesSync(path, now, now);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Created on the first touch, and again if someone removed it while we run.
        closeSync(openSync(path, 'a'));
        utimesSync(path, now, now);
      }
      failing = false;
    } catch (err) {
      // Only the next start's "was down" message depends on it: worth a warning, not a stop.
      if (!failing) log.warn({ path, error: (err as Error).message }, 'cannot touch the run marker; an unclean stop may go unreported');
      failing = true;
    }
  };
  touch();
  return {
    uncleanSince: uncleanSince === undefined ? undefined : Math.floor(uncleanSince),
    touch,
    remove() {
      try {
        rmSync(path, { force: true });
      } catch (err) {
        log.warn({ path, error: (err as Error).message }, 'cannot remove the run marker; the next start will report an unclean stop');
      }
    },
  };
}
