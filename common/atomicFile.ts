// Files that readers (the daemon, ctl.ts, a restarted daemon) must never see
// half-written: the state checkpoint and the control files.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Fails at start, with the reason, when CONTROL_DIR cannot hold the state and
 * control files: better a clear exit than a watcher that silently forgets.
 */
export function assertWritable(dir: string): void {
  rmSync(writeAtomic(dir, '.write-test', 'ok\n'));
}

/**
 * A reader sees the old file or the new one, never half of one: rename is
 * atomic within a directory. Durable too: the content is on disk before the
 * rename (else a host crash can leave the new name on an empty file), and the
 * rename is before this returns (else the crash can bring the old file back).
 */
export function writeAtomic(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const fd = openSync(temp, 'w', 0o644);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  syncDirectory(dir);
  return target;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
