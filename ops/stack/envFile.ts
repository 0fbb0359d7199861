// The one writer of the env file: the release tool records each pool's image
// and release id in it, `make scale` a pool's replica count (ops/cli/scale.ts),
// and a new container (`make up`) starts from it. Other lines,
// comments included, are kept as they are.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** It holds the webhook and CHAOS_TOKEN: a file we create is readable by its owner only. */
const NEW_FILE_MODE = 0o600;

export function setEnvValues(file: string, values: Record<string, string>): void {
  let text = '';
  let mode = NEW_FILE_MODE;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [key, value] of Object.entries(values)) {
    const line = `${key}=${value}`;
    const at = lines.findLastIndex((l) => l.startsWith(`${key}=`));
    if (at >= 0) lines[at] = line;
    else lines.push(line);
  }
  replaceFile(file, `${lines.join('\n')}\n`, mode);
}

/**
 * Replaced by rename, from a temporary file in the same directory (rename is
 * atomic only within one file system) that has the old file's mode from its
 * first byte, and flushed before and after: a crash leaves the old file or
 * the new one, whole, never an empty or world-readable one.
 */
function replaceFile(file: string, content: string, mode: number): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      // openSync's mode passes through the umask; the old file's mode must not.
      fchmodSync(fd, mode);
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
