// Where a notification goes in the bot-token mode (slackApp.ts): an incident
// and a release run are each one top-level message, edited as they change,
// with their story as replies in its thread. Everything else (a planned
// switch, a maintenance summary, a restart, an incident told after the fact)
// is a message of its own. Pure: the thread store says what exists.
import type { Notification } from '../policy/index.js';

/**
 * - `open`: the first message of a thread (an incident opened, a release started);
 * - `update`: the thread's message is edited to this, and this is replied in the thread;
 * - `close`: the same, the reply also broadcast to the channel, and the thread is done;
 * - `reply`: a reply in the thread when there is one (a release's rollback), the message left as it is;
 * - `edit`: the thread's message edited to this and nothing more (a change the cooldown holds back:
 *   an edit notifies nobody); nothing at all when the thread has no message.
 */
export type ThreadStep = 'open' | 'update' | 'close' | 'reply' | 'edit';

export interface Placement {
  /** `incident:<id>` or `release:<id>`: the key of the thread store. */
  thread: string;
  step: ThreadStep;
  /** For a `reply`: the thread to reply in when `thread` has no message. */
  orThread?: string;
}

const RELEASE_ENDS = new Set(['ok', 'promoted', 'blocked', 'rolled_back', 'interrupted', 'failed', 'refused']);

/** The thread a notification belongs to; undefined for a message of its own. */
export function placementOf(n: Notification): Placement | undefined {
  if (n.message !== 'notice') {
    const step = n.message === 'opened' ? 'open' : n.message === 'resolved' ? 'close' : 'update';
    return { thread: incidentThread(n.incidentId), step };
  }
  // A switch a release makes (its promotion, its rollback) is a step of that run: the run switching to its
  // release, or away from it. A switch of no run's has no thread and is a message of its own.
  if (n.kind === 'planned_switch') {
    if (n.toRelease === undefined) return undefined;
    return { thread: releaseThread(n.toRelease), step: 'reply', ...(n.fromRelease === undefined ? {} : { orThread: releaseThread(n.fromRelease) }) };
  }
  if (n.kind !== 'release' || n.entry.release === undefined) return undefined;
  const thread = releaseThread(n.entry.release);
  if (n.entry.action !== 'release') return { thread, step: 'reply' };
  return { thread, step: n.entry.outcome === 'started' ? 'open' : RELEASE_ENDS.has(n.entry.outcome) ? 'close' : 'update' };
}

export const incidentThread = (incidentId: string) => `incident:${incidentId}`;
export const releaseThread = (release: string) => `release:${release}`;
export const isReleaseThread = (key: string) => key.startsWith('release:');
