// Which file to read next, and from where: the source's half of Vector's
// checkpointer. state/checkpoint.ts keeps the position the source reports;
// this turns one saved by a previous run back into files to read (resume.ts),
// and otherwise follows whatever is at the log's path.
import type { Logger } from '../../common/logger.js';
import { openIfExists, resumeFiles, type ResumeFile } from './resume.js';
import type { SourcePosition } from './types.js';

export class FileQueue {
  /** Files opened at start (resume.ts), to read before the one at the path, oldest first. */
  private queued: ResumeFile[] = [];
  // Only a file present at start holds history; one that appears later (or
  // replaces a rotated one) holds nothing but lines written since.
  private startAtEnd = true;
  private announcedWaiting = false;

  constructor(
    private readonly path: string,
    private saved: SourcePosition | undefined,
    private readonly log: Logger,
  ) {}

  /** The next file, already open, and where to start in it; undefined while the path names none. */
  async next(): Promise<ResumeFile | undefined> {
    if (this.saved !== undefined) {
      this.queued = await resumeFiles(this.path, this.saved, this.log);
      this.saved = undefined;
      this.startAtEnd = false;
    }
    const queued = this.queued.shift();
    if (queued !== undefined) return this.found(queued);
    const opened = await openIfExists(this.path);
    const startAtEnd = this.startAtEnd;
    this.startAtEnd = false;
    if (opened === undefined) {
      if (!this.announcedWaiting) this.log.info({ path: this.path }, 'waiting for the log file to appear');
      this.announcedWaiting = true;
      return undefined;
    }
    return this.found({ handle: opened.handle, path: this.path, offset: startAtEnd ? opened.size : 0, rotated: false });
  }

  /** Files from a saved position are still to be read: lines until then may be old. */
  get pending(): boolean {
    return this.queued.length > 0;
  }

  /** The next file was rotated after the current one: its writer has long moved on. */
  get newerRotatedQueued(): boolean {
    return this.queued[0]?.rotated === true;
  }

  async close(): Promise<void> {
    await Promise.all(this.queued.map((f) => f.handle.close()));
  }

  private found(file: ResumeFile): ResumeFile {
    this.announcedWaiting = false;
    return file;
  }
}
