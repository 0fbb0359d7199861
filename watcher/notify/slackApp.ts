// Slack's Web API with a bot token (SLACK_BOT_TOKEN) as an integration: one
// message per incident and per release run, edited in place (chat.update) as
// it changes, each change a reply in its thread, the resolution broadcast to
// the channel too, so the all-clear is seen without opening the thread.
// Where each message is lives in the thread store (state/slackThreads.ts), so
// a restart edits the same message.
//
// An attempt may take several calls (edit the message, then reply). What an
// attempt finished is kept for its message, so the retry stage's next
// attempt goes on from the call that failed instead of editing or replying twice.
import { Agent } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { ThreadRef, ThreadStore } from '../state/slackThreads.js';
import type { Verdict } from './retry.js';
import { createRetryingSink, type AlertSink, type Integration, type RetryingSinkOptions } from './sink.js';
import { duringRelease, openedDuringRelease, type SlackMessage } from './slackMessage.js';
import { isReleaseThread, type Placement } from './slackThreads.js';
import { callWebApi, MESSAGE_GONE, type WebApiOptions } from './slackWebApi.js';

/** Slack lets a bot post about one message a second per channel, in bursts a little more; we keep to one. */
export const POST_GAP_MS = 1000;

export interface SlackAppOptions {
  token: string;
  channel: string;
  apiUrl: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  threads: ThreadStore;
  logger: Logger;
  maxRetryAfterMs?: number;
  /** Wall clock: a Retry-After date, and when a message was posted. */
  now?: () => number;
  monotonic?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What an attempt at one message has done so far. */
interface Progress {
  edited: boolean;
}

export function slackApp(opts: SlackAppOptions): Integration<SlackMessage> {
  const log = opts.logger;
  const now = opts.now ?? Date.now;
  const monotonic = opts.monotonic ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const agent = new Agent({ connect: { timeout: opts.connectTimeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
  const api: WebApiOptions = {
    apiUrl: opts.apiUrl,
    token: opts.token,
    timeoutMs: opts.timeoutMs,
    dispatcher: agent,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    now,
    // The token never appears in an answer; a reason quotes Slack's error word only.
  };
  const progress = new WeakMap<SlackMessage, Progress>();
  let lastPostAt = -Infinity;

  /** chat.postMessage, no sooner than POST_GAP_MS after the last: a burst of incidents queues, none is refused. */
  async function post(message: SlackMessage, thread?: { ts: string; broadcast: boolean }) {
    const wait = lastPostAt + POST_GAP_MS - monotonic();
    if (wait > 0) await sleep(wait);
    lastPostAt = monotonic();
    // Slack refuses an empty list of blocks; a plain reply has none.
    const args = { channel: opts.channel, text: message.text, ...(message.blocks.length === 0 ? {} : { blocks: message.blocks }), unfurl_links: false, unfurl_media: false };
    return callWebApi('chat.postMessage', thread === undefined ? args : { ...args, thread_ts: thread.ts, reply_broadcast: thread.broadcast }, api);
  }

  /** A new top-level message; recorded as `key`'s when given. */
  async function postTopLevel(message: SlackMessage, key?: string): Promise<Verdict> {
    // An incident that opens while a release runs is part of its story: each links to the other.
    const release = key === undefined || isReleaseThread(key) ? undefined : openRelease();
    const releaseUrl = release === undefined ? undefined : await permalink(...release);
    const during = release === undefined || releaseUrl === undefined ? undefined : { release: release[0].replace(/^release:/, ''), url: releaseUrl };
    const answer = await post(decorate(message, during));
    if (!answer.ok) return answer.verdict;
    const ts = answer.body.ts;
    const channel = typeof answer.body.channel === 'string' ? answer.body.channel : opts.channel;
    if (key === undefined || typeof ts !== 'string') return { outcome: 'delivered' };
    const ref: ThreadRef = { channel, ts, at: now(), ...(during === undefined ? {} : { during }) };
    opts.threads.set(key, ref);
    // Its own link, for the status page and the release's thread; a failure here costs the link only.
    const url = await permalink(key, ref);
    if (release !== undefined && url !== undefined) {
      const said = await post(openedDuringRelease(url, message), { ts: release[1].ts, broadcast: false });
      if (!said.ok) log.debug({ reason: said.verdict.reason }, 'could not link the incident from its release');
    }
    return { outcome: 'delivered' };
  }

  /** The newest release run still open. */
  function openRelease(): [string, ThreadRef] | undefined {
    return opts.threads.entries().filter(([key]) => isReleaseThread(key)).sort(([, a], [, b]) => a.at - b.at).at(-1);
  }

  /** The message's permalink, asked once and kept with it. */
  async function permalink(key: string, ref: ThreadRef): Promise<string | undefined> {
    if (ref.url !== undefined) return ref.url;
    const answer = await callWebApi('chat.getPermalink', { channel: ref.channel, message_ts: ref.ts }, api);
    const url = answer.ok ? answer.body.permalink : undefined;
    if (typeof url !== 'string' || !/^https:\/\/\S{1,490}$/.test(url)) {
      if (!answer.ok) log.debug({ reason: answer.verdict.reason }, 'no permalink for a message');
      return undefined;
    }
    if (opts.threads.get(key)?.ts === ref.ts) opts.threads.set(key, { ...ref, url });
    return url;
  }

  /** What every version of an incident's message says besides the news: the release it opened during. */
  function decorate(message: SlackMessage, during: ThreadRef['during']): SlackMessage {
    return during === undefined ? message : duringRelease(message, during.release, during.url);
  }

  /**
   * A message of a thread that exists: the thread's message edited to it
   * (unless a `reply`), then replied in the thread (unless it is the first
   * message again, re-sent after a restart: that is only an edit).
   */
  async function continueThread(message: SlackMessage, wanted: Placement): Promise<Verdict> {
    const placement = wanted.orThread !== undefined && opts.threads.get(wanted.thread) === undefined ? { ...wanted, thread: wanted.orThread } : wanted;
    const { thread: key, step } = placement;
    const ref = opts.threads.get(key);
    if (ref === undefined) {
      // Nothing to edit; the message the cooldown holds back will start the thread.
      if (step === 'edit') return { outcome: 'delivered' };
      if (step === 'open') return postTopLevel(message, key);
      // Its first message was never posted (lost, or given up on) or its record is gone: this one starts it.
      return postTopLevel(message, step === 'update' ? key : undefined);
    }
    const done = progress.get(message) ?? { edited: false };
    progress.set(message, done);
    if (!done.edited && step !== 'reply') {
      const shown = decorate(message, ref.during);
      const edit = await callWebApi('chat.update', { channel: ref.channel, ts: ref.ts, text: shown.text, blocks: shown.blocks }, api);
      if (!edit.ok && edit.error !== undefined && MESSAGE_GONE.has(edit.error)) return replaceGone(message, placement, edit.error);
      if (!edit.ok) return edit.verdict;
      done.edited = true;
    }
    if (step !== 'open' && step !== 'edit') {
      const reply = await post(message, { ts: ref.ts, broadcast: step === 'close' });
      if (!reply.ok && reply.error !== undefined && MESSAGE_GONE.has(reply.error)) return replaceGone(message, placement, reply.error);
      if (!reply.ok) return reply.verdict;
    }
    if (step === 'close') opts.threads.delete(key);
    return { outcome: 'delivered' };
  }

  /** The message was deleted in Slack (or can no longer be edited): a new one says where things stand. */
  async function replaceGone(message: SlackMessage, placement: Placement, error: string): Promise<Verdict> {
    log.warn({ thread: placement.thread, error }, 'its Slack message is gone: posting a new one');
    opts.threads.delete(placement.thread);
    if (placement.step === 'edit') return { outcome: 'delivered' };
    return postTopLevel(message, placement.step === 'close' || placement.step === 'reply' ? undefined : placement.thread);
  }

  return {
    async attempt(message, placement): Promise<Verdict> {
      return placement === undefined ? postTopLevel(message) : continueThread(message, placement);
    },
    close: () => agent.destroy(),
  };
}

export interface SlackAppClientOptions extends SlackAppOptions, Omit<RetryingSinkOptions, 'name' | 'logger' | 'baseMs' | 'maxMs' | 'monotonic' | 'sleep'> {
  backoffBaseMs?: number;
  maxBackoffMs?: number;
}

/** The Web API behind the retry stage: what the daemon sends through with a bot token. */
export function createSlackAppClient(opts: SlackAppClientOptions): AlertSink {
  const logger = opts.logger.child({ component: 'slack', channel: opts.channel, api: new URL(opts.apiUrl).host });
  return createRetryingSink(slackApp({ ...opts, logger }), {
    ...opts,
    name: 'Slack',
    logger,
    ...(opts.backoffBaseMs === undefined ? {} : { baseMs: opts.backoffBaseMs }),
    ...(opts.maxBackoffMs === undefined ? {} : { maxMs: opts.maxBackoffMs }),
  });
}
