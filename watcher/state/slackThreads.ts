// Where each open incident's and release's Slack message is (channel and ts),
// in the bot-token mode: the message to edit and the thread to continue.
// Saved in a file of its own, written the moment Slack gives a ts, not at the
// next checkpoint: a kill -9 between the two would leave the incident's
// message unknown, and its next change would post a second one.
import { z } from 'zod';
import { writeAtomic } from '../../common/atomicFile.js';
import type { Logger } from '../../common/logger.js';
import { issueOf } from '../history.js';
import { readBoundedFile } from './readFile.js';

export const THREADS_FILE = 'slack-threads.json';

/** Open incidents are few and releases end; what is older than this was left behind (its close was lost). */
const KEEP_MS = 30 * 24 * 3600 * 1000;
const MAX_THREADS = 200;
const MAX_BYTES = 256 * 1024;

export const threadRefSchema = z.object({
  channel: z.string().regex(/^[A-Z0-9]{1,32}$/),
  // Slack's message id: seconds, a dot, microseconds.
  ts: z.string().regex(/^\d{1,12}\.\d{1,9}$/),
  /** When it was posted (wall clock): the oldest go first when the book is full. */
  at: z.number().int().nonnegative(),
  /** Its permalink (chat.getPermalink), for links to it: the status page's, a release's thread. */
  url: z.url({ protocol: /^https$/ }).max(500).optional(),
  /** An incident that opened during a release run: that run, and its message's link. */
  during: z.object({ release: z.string().min(1).max(64), url: z.url({ protocol: /^https$/ }).max(500) }).optional(),
});
export type ThreadRef = z.output<typeof threadRefSchema>;

const fileSchema = z.object({ version: z.literal(1), threads: z.record(z.string().min(1).max(120), threadRefSchema) });

export interface ThreadStore {
  get(key: string): ThreadRef | undefined;
  /** Records the message of `key`, or updates it in its place; saved before this returns. */
  set(key: string, ref: ThreadRef): void;
  delete(key: string): void;
  /** Every key with its message: for /stats and the status page's links. */
  entries(): [string, ThreadRef][];
}

export interface ThreadStoreOptions {
  dir: string;
  logger: Logger;
  now: () => number;
}

/** The store as saved in `dir`; an unreadable file is logged and starts empty (its incidents get new messages). */
export function createThreadStore(opts: ThreadStoreOptions): ThreadStore {
  const log = opts.logger.child({ component: 'slack-threads' });
  const threads = new Map<string, ThreadRef>(load(opts, log));
  const save = () => {
    try {
      writeAtomic(opts.dir, THREADS_FILE, `${JSON.stringify({ version: 1, threads: Object.fromEntries(threads) })}\n`);
    } catch (err) {
      // Delivery goes on: a message whose ts is not saved is only edited until the next restart.
      log.error({ error: (err as Error).message }, 'cannot save where the Slack messages are: after a restart their incidents get new ones');
    }
  };
  return {
    get: (key) => threads.get(key),
    set(key, ref) {
      threads.set(key, ref);
      // Insertion order is age order: the first is the oldest.
      while (threads.size > MAX_THREADS) threads.delete(threads.keys().next().value!);
      save();
    },
    delete(key) {
      if (threads.delete(key)) save();
    },
    entries: () => [...threads],
  };
}

function load(opts: ThreadStoreOptions, log: Logger): [string, ThreadRef][] {
  const read = readBoundedFile(`${opts.dir}/${THREADS_FILE}`, MAX_BYTES);
  if (read.kind === 'missing') return [];
  const problem = (reason: string) => {
    log.warn({ file: THREADS_FILE, reason }, 'ignoring the saved Slack messages: open incidents get new messages');
    return [];
  };
  if (read.kind === 'rejected') return problem(read.reason);
  let value: unknown;
  try {
    value = JSON.parse(read.text);
  } catch {
    return problem('not JSON');
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) return problem(issueOf(parsed.error));
  const cutoff = opts.now() - KEEP_MS;
  return Object.entries(parsed.data.threads)
    .filter(([, ref]) => ref.at >= cutoff)
    .sort(([, a], [, b]) => a.at - b.at)
    .slice(-MAX_THREADS);
}
