// Runs the stories through the watcher's own code: the policy decides what
// each moment sends (watcher/policy), formatSlackMessage words it, and each
// delivery mode places it as the daemon does: the webhook posts every sent
// message; with a bot token, placementOf() (watcher/notify/slackThreads.ts)
// says which thread it belongs to and what it does there, and a change the
// cooldown holds back edits the incident's message at once (pipeline.ts,
// queue.ts). botChannel() applies those steps as slackApp.ts does;
// test/docs/alerts.test.ts checks it against the real slackApp.
import { defaultPipelineSettings, type PipelineSettings } from '../watcher/config.js';
import { duringRelease, formatSlackMessage, formatTestMessage, openedDuringRelease, type SlackMessage } from '../watcher/notify/slackMessage.js';
import { isReleaseThread, placementOf, type Placement } from '../watcher/notify/slackThreads.js';
import { TEST_REPLY_TEXT } from '../watcher/operator/testAlert.js';
import { notificationSchema, NotifyPolicy, type Notification, type PolicyResult } from '../watcher/policy/index.js';
import type { Step, Story } from './story.js';

/** RUNBOOK_URL in the examples: each alert links to its section. */
export const RUNBOOK_URL = 'https://git.example.com/ops/bluegreen/blob/main/docs/runbook.md';

/** The watcher's defaults, as a fresh .env has them, with the example RUNBOOK_URL. */
export function gallerySettings(): PipelineSettings {
  return defaultPipelineSettings({ RUNBOOK_URL });
}

/** One message a moment produces, and where each mode puts it. */
export interface Delivery {
  title: string;
  why: string;
  at: number;
  message: SlackMessage;
  /** Absent for the test alert, which is no notification. */
  notification?: Notification;
  /** The webhook posts it as a new message; false: the webhook mode sends nothing now. */
  webhook: boolean;
  bot: BotDelivery;
}

/**
 * With a bot token: a notification goes where its placement says (undefined:
 * a message of its own); the test alert posts, replies in its own thread and
 * edits itself (watcher/operator/testAlert.ts).
 */
export type BotDelivery =
  | { kind: 'placed'; placement: Placement | undefined }
  | { kind: 'test'; reply: SlackMessage; edited: SlackMessage; editedAt: number };

export interface Moment {
  at: number;
  what: string;
  deliveries: Delivery[];
}

export interface PlayedStory {
  story: Story;
  moments: Moment[];
}

export function play(story: Story, settings: PipelineSettings): PlayedStory {
  const policy = new NotifyPolicy({ cooldownMs: settings.cooldownMs, remindMs: settings.remindMs });
  let maintenance = false;
  const moments = story.steps.map((step, i): Moment => {
    const where = `gallery: "${story.title}", step ${i + 1} (${step.what})`;
    if (step.maintenance !== undefined) maintenance = step.maintenance;
    if (step.testAlert !== undefined) return { at: step.at, what: step.what, deliveries: [testAlert(step, where)] };
    const results: PolicyResult[] = [];
    if (step.notice !== undefined) results.push(policy.notice(valid(step.notice, where), maintenance));
    if (step.views !== undefined) results.push(...policy.evaluate(step.at, step.views, maintenance));
    const decided = results.map((r) => `${r.decision} ${r.notification.message}`);
    const expected = step.expect.map((e) => `${e.decision} ${e.message}`);
    if (decided.join('; ') !== expected.join('; ')) {
      const kinds = results.map((r) => `${r.decision} ${r.notification.message} (${r.notification.kind})`);
      throw new Error(`${where}: the policy decided [${kinds.join('; ')}], the story expects [${expected.join('; ')}]: fix gallery/stories.ts`);
    }
    const deliveries: Delivery[] = [];
    results.forEach(({ decision, notification }, j) => {
      const e = step.expect[j]!;
      valid(notification, where);
      if (e.decision === 'suppress') return;
      const message = formatSlackMessage(notification, { runbookUrl: settings.runbookUrl });
      const placement = placementOf(notification);
      if (decision === 'send') {
        deliveries.push({ title: e.title, why: e.why, at: step.at, message, notification, webhook: true, bot: { kind: 'placed', placement } });
        policy.settled(notification, 'delivered');
      } else if (notification.message !== 'notice') {
        // pipeline.ts: a deferred change edits the incident's message at once (queue.ts: the placement's `edit` step).
        const edit = placement === undefined ? undefined : { ...placement, step: 'edit' as const };
        deliveries.push({ title: e.title, why: e.why, at: step.at, message, notification, webhook: false, bot: { kind: 'placed', placement: edit } });
      }
    });
    return { at: step.at, what: step.what, deliveries };
  });
  return { story, moments };
}

function testAlert(step: Step, where: string): Delivery {
  const e = step.expect[0];
  if (step.expect.length !== 1 || e?.decision !== 'send') throw new Error(`${where}: a test alert step expects one message sent`);
  const who = step.testAlert!.who;
  return {
    title: e.title,
    why: e.why,
    at: step.at,
    message: formatTestMessage({ at: step.at, who }),
    webhook: true,
    bot: { kind: 'test', reply: { text: TEST_REPLY_TEXT, blocks: [] }, edited: formatTestMessage({ at: step.at, who, edited: step.at + 1000 }), editedAt: step.at + 1000 },
  };
}

/** A story's notification is one the watcher could have saved and sent: its schema says so. */
function valid<N extends Notification>(n: N, where: string): N {
  const result = notificationSchema.safeParse(n);
  if (!result.success) throw new Error(`${where}: not a valid notification: ${result.error.message}`);
  return n;
}

// --- The channel, as each mode shows it ------------------------------------

/** What the channel shows at one point: a message (posted or edited to), or a reply. */
export interface Shown {
  at: number;
  message: SlackMessage;
  /** The gallery entry it comes from. */
  delivery: Delivery;
}

export interface TopMessage {
  /** As posted, then as each edit left it. */
  versions: Shown[];
  replies: (Shown & { broadcast: boolean })[];
}

/** What one delivery did in the bot-token mode. */
export interface BotEffect {
  /** A new top-level message (the index in the channel's list). */
  posted?: number;
  /** That message starts a thread: the later messages of its incident or release go there. */
  thread?: boolean;
  /** The top-level message it edited. */
  edited?: number;
  /** Replied in that message's thread; also sent to the channel when broadcast. */
  replied?: { to: number; broadcast: boolean };
}

/** The webhook's channel: every sent message, a new message each, oldest first. */
export function webhookChannel(played: PlayedStory): Delivery[] {
  return played.moments.flatMap((m) => m.deliveries.filter((d) => d.webhook));
}

/**
 * The bot token's channel: the top-level messages in order, each with its
 * versions and its thread. Each placement step does what slackApp.ts does:
 * `open` posts (and records the thread), `update` edits and replies,
 * `close` edits, replies with a broadcast and forgets the thread, `reply`
 * only replies, `edit` only edits; a thread with no message yet starts one.
 */
/** Where the gallery's messages are in Slack: chat.getPermalink's shape, for the message at `index`. */
export const permalink = (index: number) => `https://your-workspace.slack.com/archives/C0123456789/p${1773151325000000 + index}`;

export function botChannel(played: PlayedStory): { messages: TopMessage[]; effects: Map<Delivery, BotEffect> } {
  const messages: TopMessage[] = [];
  const effects = new Map<Delivery, BotEffect>();
  const threads = new Map<string, number>();
  const during = new Map<string, { release: string; url: string }>();
  const decorate = (thread: string, m: SlackMessage) => {
    const run = during.get(thread);
    return run === undefined ? m : duringRelease(m, run.release, run.url);
  };
  const post = (d: Delivery, message: SlackMessage): number => messages.push({ versions: [{ at: d.at, message, delivery: d }], replies: [] }) - 1;
  for (const d of played.moments.flatMap((m) => m.deliveries)) {
    const bot = d.bot;
    if (bot.kind === 'test') {
      const top = post(d, d.message);
      messages[top]!.replies.push({ at: d.at, message: bot.reply, delivery: d, broadcast: false });
      messages[top]!.versions.push({ at: bot.editedAt, message: bot.edited, delivery: d });
      effects.set(d, { posted: top, replied: { to: top, broadcast: false }, edited: top });
      continue;
    }
    const placement = bot.placement;
    if (placement === undefined) {
      effects.set(d, { posted: post(d, d.message) });
      continue;
    }
    // A reply with a second choice (a release's switch): the first thread that has a message.
    const thread = placement.orThread !== undefined && !threads.has(placement.thread) ? placement.orThread : placement.thread;
    const { step } = placement;
    const top = threads.get(thread);
    if (top === undefined) {
      // Nothing to edit: an edit waits for the message it belongs to; anything else starts one.
      if (step === 'edit') {
        effects.set(d, {});
        continue;
      }
      const starts = step === 'open' || step === 'update';
      // An incident that opens while a release run's message is open: each links to the other (slackApp.ts).
      const run = starts && !isReleaseThread(thread) ? [...threads].filter(([key]) => isReleaseThread(key)).at(-1) : undefined;
      if (run !== undefined) during.set(thread, { release: run[0].replace(/^release:/, ''), url: permalink(run[1]) });
      const posted = post(d, decorate(thread, d.message));
      if (starts) threads.set(thread, posted);
      effects.set(d, starts ? { posted, thread: true } : { posted });
      if (run !== undefined) messages[run[1]]!.replies.push({ at: d.at, message: openedDuringRelease(permalink(posted), d.message), delivery: d, broadcast: false });
      continue;
    }
    const effect: BotEffect = {};
    if (step !== 'reply') {
      messages[top]!.versions.push({ at: d.at, message: decorate(thread, d.message), delivery: d });
      effect.edited = top;
    }
    if (step !== 'open' && step !== 'edit') {
      messages[top]!.replies.push({ at: d.at, message: d.message, delivery: d, broadcast: step === 'close' });
      effect.replied = { to: top, broadcast: step === 'close' };
    }
    if (step === 'close') threads.delete(thread);
    effects.set(d, effect);
  }
  return { messages, effects };
}
