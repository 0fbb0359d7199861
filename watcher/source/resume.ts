// Where reading starts after a restart with a saved position. The position
// names its file by fingerprint, not by path: when the file at the log's path
// is not that file, it was rotated while the watcher was down and may still
// be beside it as access.log.1, access.log.2… (the names
// nginx/docker-entrypoint.d/50-rotate-access-log.sh and logrotate give). As
// Vector's file source does with its checkpoints, that file is finished from
// the saved offset, then each newer rotated file, then the file at the path
// from its start, so a restart loses no line still on disk. Every file is
// opened here, before any is read: a rotation while they are read moves their
// names, not what is read.
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { isValidPosition, whyNotResumable } from './fingerprint.js';
import type { SourcePosition } from './types.js';

/** A file to read from `offset`, already open. */
export interface ResumeFile {
  handle: FileHandle;
  /** Its name when it was opened, for the logs. */
  path: string;
  offset: number;
  /** A rotated file, finished before the file at the log's path. */
  rotated: boolean;
}

export interface RotatedName {
  name: string;
  generation: number;
  compressed: boolean;
}

/** The rotated files beside the log among `names` (its directory's), newest first: base.1, base.2, …, each perhaps .gz. */
export function rotatedNames(base: string, names: readonly string[]): RotatedName[] {
  const rotated: RotatedName[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const match = /^(\d{1,6})(\.gz)?$/.exec(name.slice(base.length + 1));
    if (match !== null) rotated.push({ name, generation: Number(match[1]), compressed: match[2] !== undefined });
  }
  return rotated.sort((a, b) => a.generation - b.generation || Number(a.compressed) - Number(b.compressed));
}

/**
 * The files to read, in order: the saved file from the saved offset and the
 * files rotated after it, then the file at `path` (if there is one), from the
 * saved offset if it is the saved file, else from its start. Logs which.
 */
export async function resumeFiles(path: string, saved: SourcePosition, log: Logger): Promise<ResumeFile[]> {
  const current = await openIfExists(path);
  try {
    const fields = { path, savedOffset: saved.offset, size: current?.size };
    const reason = current === undefined ? 'missing' : await whyNotResumable(current.handle, current.size, saved);
    if (current !== undefined && reason === undefined) {
      log.info({ ...fields, unreadBytes: current.size - saved.offset }, 'resuming the log file at the saved position');
      return [{ handle: current.handle, path, offset: saved.offset, rotated: false }];
    }
    const last = current === undefined ? [] : [{ handle: current.handle, path, offset: 0, rotated: false }];
    const search = isValidPosition(saved) ? await findRotated(path, saved, current) : NOT_SEARCHED;
    const compressed = search.skippedCompressed.length === 0 ? {} : { skippedCompressed: search.skippedCompressed };
    const [savedFile, ...newer] = search.files;
    if (savedFile === undefined) {
      log.warn(
        { ...fields, reason, lookedFor: search.lookedFor, ...compressed },
        'saved log file not found; reading the log file from its start',
      );
      return last;
    }
    log.info(
      { path: savedFile.path, savedOffset: saved.offset, newer: [...newer, ...last].map((f) => f.path) },
      'the saved position is in a rotated log file; finishing it and the newer ones first',
    );
    if (search.skippedCompressed.length > 0) {
      log.warn(compressed, 'newer rotated log files are compressed and cannot be read; their lines are skipped');
    }
    return [...search.files, ...last];
  } catch (err) {
    await current?.handle.close();
    throw err;
  }
}

interface Search {
  /** Oldest first, starting with the saved file; empty when it was not found. */
  files: ResumeFile[];
  lookedFor: string[];
  skippedCompressed: string[];
}

const NOT_SEARCHED: Search = { files: [], lookedFor: [], skippedCompressed: [] };

interface Opened {
  handle: FileHandle;
  size: number;
  dev: number;
  ino: number;
}

/** Newest first, so the search ends at the saved file, having opened each newer one (all to be read). */
async function findRotated(path: string, saved: SourcePosition, current: Opened | undefined): Promise<Search> {
  const dir = dirname(path);
  const search: Search = { files: [], lookedFor: [], skippedCompressed: [] };
  try {
    for (const { name, compressed } of rotatedNames(basename(path), await listIfExists(dir))) {
      const rotatedPath = join(dir, name);
      if (compressed) {
        search.skippedCompressed.push(rotatedPath);
        continue;
      }
      const file = await openIfExists(rotatedPath);
      if (file === undefined) continue;
      // The file at the path, renamed since it was opened: it is read last anyway.
      if (current !== undefined && file.dev === current.dev && file.ino === current.ino) {
        await file.handle.close();
        continue;
      }
      search.lookedFor.push(rotatedPath);
      const found = (await whyNotResumable(file.handle, file.size, saved)) === undefined;
      search.files.push({ handle: file.handle, path: rotatedPath, offset: found ? saved.offset : 0, rotated: true });
      if (found) return { ...search, files: search.files.reverse() };
    }
  } catch (err) {
    await closeAll(search.files);
    throw err;
  }
  await closeAll(search.files);
  return { ...search, files: [] };
}

async function closeAll(files: ResumeFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close()));
}

async function listIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function openIfExists(path: string): Promise<Opened | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size, dev, ino } = await handle.stat();
    return { handle, size, dev, ino };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
