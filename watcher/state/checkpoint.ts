// Where the watcher stopped, so a restart (even after kill -9) resumes instead
// of starting over, as Promtail's positions file and Vector's checkpoints do:
//   - the log position: lines written while the watcher was down are still
//     read, so a flip during the gap is reported;
//   - the detector's state: the serving pool and an open error-rate incident,
//     so lines after the restart do not raise the same alert again;
//   - alerts raised but not yet delivered, so a crash does not lose them.
// The pipeline saves at once whenever an alert is raised or delivered, with
// the position just after the line that raised it: a restart never reads
// that line again, so it can never raise that alert twice. Between alerts,
// main saves once a second; re-reading up to a second of alert-free lines only
// refills the error window.
//
// One small JSON file in CONTROL_DIR, replaced by rename so a crash mid-write
// leaves the previous one whole. No fsync: a killed process loses nothing the
// kernel has; only a host crash could lose the last second.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../common/logger.js';
import { writeAtomic } from './atomicFile.js';
import type { DetectorState } from '../detect/index.js';
import type { SlackMessage } from '../notify/slackMessage.js';
import type { SourcePosition } from '../source/index.js';
import type { AlertKind, Clock } from '../types.js';

export const STATE_FILE = 'state.json';
const VERSION = 1;

const stateSchema = z.object({
  version: z.literal(VERSION),
  savedAt: z.string(),
  position: z.object({
    fingerprint: z.string().min(1),
    fingerprintBytes: z.number().int().positive(),
    offset: z.number().int().nonnegative(),
  }),
  detector: z.object({
    servingPool: z.string().min(1),
    primaryPool: z.string().min(1),
    usedSwitchIds: z.array(z.string()),
    errorRateFiring: z.boolean(),
  }),
  pending: z.array(
    z.object({
      kind: z.enum(['failover', 'recovery', 'planned_switch', 'error_rate', 'resolved']),
      heldBack: z.number().int().nonnegative(),
      message: z.object({ text: z.string(), blocks: z.array(z.record(z.string(), z.unknown())) }),
    }),
  ),
});

export interface PendingAlert {
  kind: AlertKind;
  heldBack: number;
  message: SlackMessage;
}

export interface SavedState {
  position: SourcePosition;
  detector: DetectorState;
  pending: PendingAlert[];
}

export interface Checkpoint {
  readonly path: string;
  /** The last saved state; undefined on a first start or when the file is unreadable (logged). */
  load(): SavedState | undefined;
  /**
   * Writes `state` unless it is what the last successful save wrote. Never
   * throws: a failed save is logged (once per distinct error), retried at the
   * next call, and the watcher goes on.
   */
  save(state: SavedState): void;
}

export function createCheckpoint(opts: { dir: string; clock: Clock; logger: Logger }): Checkpoint {
  const log = opts.logger.child({ component: 'checkpoint' });
  const path = join(opts.dir, STATE_FILE);
  let lastError: string | undefined;
  let lastWritten: string | undefined;
  return {
    path,
    load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const error = err as NodeJS.ErrnoException;
        if (error.code !== 'ENOENT') log.warn({ path, code: error.code }, 'cannot read the saved state; starting afresh');
        return undefined;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        log.warn({ path }, 'saved state is not JSON; starting afresh');
        return undefined;
      }
      const result = stateSchema.safeParse(parsed);
      if (!result.success) {
        log.warn({ path, problem: result.error.issues[0]?.message }, 'saved state is invalid; starting afresh');
        return undefined;
      }
      const { version: _version, savedAt, ...state } = result.data;
      log.info({ path, savedAt, offset: state.position.offset, pending: state.pending.length }, 'resuming from saved state');
      return state;
    },
    save(state) {
      const written = JSON.stringify(state);
      if (written === lastWritten) return;
      const content = `${JSON.stringify({ version: VERSION, savedAt: new Date(opts.clock()).toISOString(), ...state })}\n`;
      try {
        writeAtomic(opts.dir, STATE_FILE, content);
        lastWritten = written;
        if (lastError !== undefined) log.info({ path }, 'saving state works again');
        lastError = undefined;
      } catch (err) {
        const message = (err as Error).message;
        if (message !== lastError) log.error({ path, error: message }, 'cannot save state; a restart would start afresh');
        lastError = message;
      }
    },
  };
}
