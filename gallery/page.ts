// docs/alerts.md and the README's example, as text: the stories played
// through the watcher's code (play.ts), each message rendered as Slack shows
// it (markdown.ts), and each story's channel as each delivery mode leaves it.
// Pure: main.ts writes the files, test/docs/alerts.test.ts compares them.
import { duration } from '../watcher/notify/wording.js';
import type { SlackMessage } from '../watcher/notify/slackMessage.js';
import type { PipelineSettings } from '../watcher/config.js';
import { INCIDENT_KINDS, MESSAGE_KINDS, NOTICE_KINDS } from '../watcher/vocabulary.js';
import { headerText, messageLines, notificationText } from './markdown.js';
import { botChannel, gallerySettings, play, RUNBOOK_URL, webhookChannel, type BotEffect, type Delivery, type PlayedStory } from './play.js';
import { stories } from './stories.js';

export const PAGE = 'docs/alerts.md';
export const README = 'README.md';
export const README_START = '<!-- gallery:failover -->';
export const README_END = '<!-- /gallery:failover -->';
export const COMMAND = 'npm run gallery';

/** Release outcomes the gallery must show: the steps people see most. */
const RELEASE_STEPS = ['release started', 'release promoted', 'release blocked', 'release rolled_back', 'rollback ok'];

export interface Gallery {
  /** docs/alerts.md, whole. */
  page: string;
  /** What goes between README_START and README_END, those lines excluded. */
  readme: string;
}

export function renderGallery(settings: PipelineSettings = gallerySettings()): Gallery {
  const played = stories(settings).map((story) => play(story, settings));
  checkCoverage(played);
  const slugs = new Slugs();
  // Every message's heading, known before any link to it is written.
  const anchors = new Map<Delivery, string>();
  const storyAnchors = new Map<PlayedStory, string>();
  for (const p of played) {
    storyAnchors.set(p, slugs.take(p.story.title, true));
    for (const d of deliveries(p)) anchors.set(d, slugs.take(d.title, true));
  }
  const out: string[] = [...header(settings), '## Contents', ''];
  for (const p of played) {
    const links = deliveries(p).map((d) => `[${d.title}](#${anchors.get(d)})`);
    out.push(`- [${p.story.title}](#${storyAnchors.get(p)}): ${links.join(', ')}`);
  }
  out.push('');
  for (const p of played) out.push(...storySection(p, anchors));
  return { page: `${out.join('\n').trimEnd()}\n`, readme: readmeBlock(played[0]!) };
}

/** Puts `block` between the README's markers; undefined when they are missing. */
export function withReadmeBlock(readme: string, block: string): string | undefined {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return undefined;
  return `${readme.slice(0, start + README_START.length)}\n${block}${readme.slice(end)}`;
}

function header(s: PipelineSettings): string[] {
  return [
    '# Alert gallery',
    '',
    '[README](../README.md) › Alert gallery',
    '',
    '<!-- Written by `npm run gallery` from gallery/: edit the stories or the code, not this page. -->',
    '',
    'Every kind of message the watcher posts to Slack, as the channel shows it, in both',
    'ways of posting ([Slack](slack.md)). Nothing here is written by hand:',
    `\`${COMMAND}\` (\`make gallery\`) writes this page from \`gallery/stories.ts\`, a fixed`,
    "day of the stack, run through the watcher's own policy (`watcher/policy/`), its",
    'Slack formatting (`watcher/notify/slackMessage.ts`) and, with a bot token, the',
    'placement of each message (`watcher/notify/slackThreads.ts`). `make check` fails',
    'while this page is not what the code produces: after changing a message, run',
    '`make gallery` and commit the page with the change.',
    '',
    `The settings are the defaults: \`RECOVERY_HOLD_SEC\` ${duration(s.recoveryHoldMs)}, \`ALERT_COOLDOWN_SEC\``,
    `${duration(s.cooldownMs)}, \`ALERT_REMIND_SEC\` ${duration(s.remindMs)}, \`ERROR_RATE_THRESHOLD\` ${s.thresholdPercent}% of`,
    `\`WINDOW_SIZE\` ${s.windowSize} requests; and \`RUNBOOK_URL=${RUNBOOK_URL}\`.`,
    'Times are UTC.',
    '',
    "**Reading a message.** The headline (Slack's header) is in bold, each field",
    'follows as **Label**: value (Slack shows them in two columns), and the context',
    'line is the small print at the bottom. *Notification* is the message\'s text:',
    'what a phone or the desktop shows, and Slack where it cannot show the layout.',
    '',
    '**The two modes.** With the webhook (`SLACK_WEBHOOK_URL`) every message is a new',
    'message in the channel. With a bot token (`SLACK_BOT_TOKEN`) an incident, or a',
    "release run, is one message, edited to say where it stands; each later message",
    'is also a reply in its thread, and the all-clear is sent to the channel too.',
    'Each story ends with its channel in both modes.',
    '',
  ];
}

function storySection(p: PlayedStory, anchors: Map<Delivery, string>): string[] {
  const out = [`## ${p.story.title}`, '', p.story.intro, ''];
  const bot = botChannel(p);
  for (const moment of p.moments) {
    out.push(`**${clock(moment.at)}** ${moment.what}`, '');
    for (const d of moment.deliveries) {
      out.push(`### ${d.title}`, '', d.why, '');
      out.push(`**Webhook:** ${d.webhook ? 'a new message in the channel' : 'nothing yet'}. **Bot token:** ${botEffect(bot.effects.get(d)!, bot.messages.map((m) => m.versions[0]!.at))}.`, '');
      out.push(...quote(d.message), '', `*Notification:* ${notificationText(d.message)}`, '');
      if (d.bot.kind === 'test') {
        out.push('With a bot token it then replies in its own thread:', '', ...quote(d.bot.reply), '', 'and edits itself to:', '', ...quote(d.bot.edited), '');
      }
    }
  }
  out.push('### In the channel', '');
  const hooked = webhookChannel(p);
  out.push(`**Webhook:** ${count(hooked.length, 'message')}${hooked.length > 1 ? ', oldest first' : ''}:`, '');
  hooked.forEach((d, i) => out.push(`${i + 1}. ${clock(d.at)} · ${link(d.message, d, anchors)}`));
  out.push('', `**Bot token:** ${count(bot.messages.length, 'message')} in the channel:`, '');
  bot.messages.forEach((m, i) => {
    const [first, ...edits] = m.versions;
    out.push(`${i + 1}. ${link(first!.message, first!.delivery, anchors)}, posted ${clock(first!.at)}`);
    for (const e of edits) out.push(`   - edited ${clock(e.at)} to ${link(e.message, e.delivery, anchors)}`);
    if (m.replies.length > 0) {
      out.push(`   - in its thread, ${count(m.replies.length, 'reply', 'replies')}:`);
      m.replies.forEach((r, j) => out.push(`     ${j + 1}. ${clock(r.at)} · ${link(r.message, r.delivery, anchors)}${r.broadcast ? ', **also sent to the channel**' : ''}`));
    }
  });
  out.push('');
  return out;
}

function botEffect(e: BotEffect, postedAt: number[]): string {
  const of = (i: number) => `the message of ${clock(postedAt[i]!)}`;
  if (e.posted !== undefined && e.replied !== undefined) return 'a new message in the channel; it replies in its own thread and edits itself (below)';
  if (e.posted !== undefined) return `a new message in the channel${e.thread ? '; the later messages about it go in its thread' : ''}`;
  if (e.edited !== undefined && e.replied !== undefined) {
    return `edits ${of(e.edited)} to this, and is a reply in its thread${e.replied.broadcast ? ', also sent to the channel' : ''}`;
  }
  if (e.edited !== undefined) return `edits ${of(e.edited)} to this at once; nothing new is posted, so nobody is notified`;
  if (e.replied !== undefined) return `a reply in the thread of ${of(e.replied.to)}`;
  return 'nothing';
}

function readmeBlock(p: PlayedStory): string {
  const [top] = botChannel(p).messages;
  const hooked = webhookChannel(p);
  const before = top?.versions[0];
  const after = top?.versions.at(-1);
  const allClear = top?.replies.find((r) => r.broadcast);
  if (before === undefined || after === undefined || allClear === undefined || hooked.length !== 2) {
    throw new Error(`gallery: "${p.story.title}" must be one failover message, edited to its all-clear, and two webhook messages`);
  }
  const edits = top!.versions.slice(1).map((v) => clock(v.at));
  const edited =
    edits.length > 1
      ? `edited to the all-clear at ${edits.slice(0, -1).join(', ')} already (an edit notifies nobody, so the cooldown does not hold it back) and to this at ${edits.at(-1)}`
      : `edited to this at ${edits[0]}`;
  if (edits.at(-1) !== clock(allClear.at)) throw new Error(`gallery: "${p.story.title}": the all-clear reply and the last edit must come together`);
  return [
    '<!-- Written by `npm run gallery` (docs/alerts.md has every message): edit gallery/, not this. -->',
    '',
    `**Blue fails** (${clock(before.at)}): the first message.`,
    '',
    ...quote(before.message),
    '',
    `**After its resolution** (${clock(after.at)}). With the webhook this is a second message. With a bot token it is`,
    `the first message itself, ${edited}, when the all-clear is also replied in its thread and sent to the channel.`,
    '',
    ...quote(after.message),
    '',
    '',
  ].join('\n');
}

function quote(message: SlackMessage): string[] {
  return messageLines(message).map((line) => (line === '' ? '>' : `> ${line}`));
}

function link(message: SlackMessage, d: Delivery, anchors: Map<Delivery, string>): string {
  const text = headerText(message);
  // A reply that is itself a link (to an incident, from its release's thread) is shown as it is: Markdown nests no links.
  return /\]\(https?:/.test(text) ? text : `[${text}](#${anchors.get(d)})`;
}

function deliveries(p: PlayedStory): Delivery[] {
  return p.moments.flatMap((m) => m.deliveries);
}

/** HH:MM:SS, UTC. */
function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Every incident kind opened and resolved, every message and notice kind, the main release steps, a test alert. */
function checkCoverage(played: PlayedStory[]): void {
  const shown = new Set<string>();
  for (const d of played.flatMap(deliveries)) {
    const n = d.notification;
    if (n === undefined) shown.add('test alert');
    else {
      shown.add(`${n.kind} ${n.message}`);
      shown.add(n.message);
      shown.add(n.kind);
      if (n.kind === 'release') shown.add(`${n.entry.action} ${n.entry.outcome}`);
    }
  }
  const wanted = [
    ...INCIDENT_KINDS.flatMap((k) => [`${k} opened`, `${k} resolved`]),
    ...MESSAGE_KINDS,
    ...NOTICE_KINDS,
    ...RELEASE_STEPS,
    'test alert',
  ];
  const missing = wanted.filter((w) => !shown.has(w));
  if (missing.length > 0) throw new Error(`gallery: no example of ${missing.join(', ')}: add one to gallery/stories.ts`);
}

/** GitHub's heading anchor (as test/docs/docs.test.ts computes it), duplicates numbered. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

class Slugs {
  // The page's own headings: a story or message titled so would take their anchors.
  private readonly seen = new Map<string, number>([['alert-gallery', 1], ['contents', 1], ['in-the-channel', 1]]);
  /** The anchor of the next heading `text`; `unique`: a second one is a mistake of the stories. */
  take(text: string, unique = false): string {
    const s = slug(text);
    const n = this.seen.get(s) ?? 0;
    if (n > 0 && unique) throw new Error(`gallery: two headings read "${text}": give each story and message its own title in gallery/stories.ts`);
    this.seen.set(s, n + 1);
    return n === 0 ? s : `${s}-${n}`;
  }
}
