// A Slack message (the Block Kit payload formatSlackMessage builds) as
// Markdown that reads as Slack shows it: the header in bold, each field as
// `**Label**: value`, a section's text as lines, the context line small.
// Slack's mrkdwn becomes Markdown: *bold* → **bold**, code spans kept,
// <url|text> → [text](url), a <!date^…|fallback> token → its fallback text.
// A block or element it cannot render is an error, not a silent gap: the
// gallery must show everything the message holds.
import type { SlackMessage } from '../watcher/notify/slackMessage.js';

interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

/** The message's lines, to be quoted (`> `) by the caller. */
export function messageLines(message: SlackMessage): string[] {
  const parts: string[][] = [];
  for (const block of message.blocks as Record<string, unknown>[]) parts.push(blockLines(block));
  // A message with no blocks (a plain reply) shows its text.
  if (parts.length === 0) parts.push([mrkdwnToMarkdown(message.text)]);
  return parts.filter((p) => p.length > 0).flatMap((p, i) => (i === 0 ? p : ['', ...p]));
}

/** The notification text (what a phone or the desktop shows), as one Markdown line. */
export function notificationText(message: SlackMessage): string {
  return mrkdwnToMarkdown(message.text).replace(/\n/g, ' ');
}

/** The header's text: the headline, as plain Markdown (escaped). */
export function headerText(message: SlackMessage): string {
  const header = (message.blocks as Record<string, unknown>[]).find((b) => b.type === 'header');
  return header === undefined ? notificationText(message) : plainToMarkdown(textOf(header.text, 'header').text);
}

function blockLines(block: Record<string, unknown>): string[] {
  switch (block.type) {
    case 'header':
      return [`**${plainToMarkdown(textOf(block.text, 'header').text)}**`];
    case 'section': {
      const lines: string[] = [];
      if (block.text !== undefined) lines.push(inline(textOf(block.text, 'section text')));
      if (block.fields !== undefined) {
        if (lines.length > 0) lines.push('');
        for (const f of listOf(block.fields, 'section fields')) lines.push(`- ${field(textOf(f, 'section field'))}`);
      }
      return lines;
    }
    case 'context': {
      const elements = listOf(block.elements, 'context elements').map((e) => {
        const el = e as Record<string, unknown>;
        if (el.type === 'image') return plainToMarkdown(String(el.alt_text ?? ''));
        return inline(textOf(el, 'context element'));
      });
      return elements.length === 0 ? [] : [`<sub>${elements.join(' · ')}</sub>`];
    }
    case 'divider':
      return ['---'];
    default:
      throw new Error(`gallery/markdown.ts: no rendering for a Block Kit block of type ${JSON.stringify(block.type)}: add one`);
  }
}

/** `*Label*\nvalue`, as formatSlackMessage writes a field, → `**Label**: value`. */
function field(t: TextObject): string {
  const labelled = t.type === 'mrkdwn' ? /^\*([^*\n]+)\*\n([\s\S]*)$/.exec(t.text) : null;
  if (labelled === null) return inline(t);
  return `**${mrkdwnToMarkdown(labelled[1]!)}**: ${inline({ type: 'mrkdwn', text: labelled[2]! })}`;
}

/** A text object on one Markdown line: its own line breaks as `<br>`. */
function inline(t: TextObject): string {
  const text = t.type === 'mrkdwn' ? mrkdwnToMarkdown(t.text) : plainToMarkdown(t.text);
  return text.split('\n').join('<br>');
}

function textOf(value: unknown, where: string): TextObject {
  const t = value as Partial<TextObject> | undefined;
  if ((t?.type === 'mrkdwn' || t?.type === 'plain_text') && typeof t.text === 'string') return t as TextObject;
  throw new Error(`gallery/markdown.ts: the ${where} is not a text object: ${JSON.stringify(value)}`);
}

function listOf(value: unknown, where: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Error(`gallery/markdown.ts: the ${where} are not a list: ${JSON.stringify(value)}`);
}

// Slack's mrkdwn, token by token: a code span, an angle-bracket token (link,
// date, mention), or *bold*, _italic_, ~strike~ at word boundaries.
const TOKEN = new RegExp(
  [
    '`([^`\\n]+)`',
    '<([^<>\\n]+)>',
    '(?<![\\w*])\\*(?=\\S)([^*\\n]*?\\S)\\*(?![\\w*])',
    '(?<![\\w_])_(?=\\S)([^_\\n]*?\\S)_(?![\\w_])',
    '(?<![\\w~])~(?=\\S)([^~\\n]*?\\S)~(?![\\w~])',
  ].join('|'),
  'g',
);

/** Slack mrkdwn → Markdown with the same look. */
export function mrkdwnToMarkdown(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    out += plainRun(text.slice(last, m.index));
    last = m.index + m[0].length;
    const [, codeSpan, angle, bold, italic, strike] = m;
    if (codeSpan !== undefined) out += codeToMarkdown(decodeEntities(codeSpan));
    else if (angle !== undefined) out += angleToMarkdown(angle);
    else if (bold !== undefined) out += `**${mrkdwnToMarkdown(bold)}**`;
    else if (italic !== undefined) out += `_${mrkdwnToMarkdown(italic)}_`;
    else if (strike !== undefined) out += `~~${mrkdwnToMarkdown(strike)}~~`;
  }
  return out + plainRun(text.slice(last));
}

/** Text between tokens: a bare URL, which Slack links, as a Markdown autolink; the rest escaped. */
function plainRun(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/https?:\/\/[^\s<>]*[^\s<>.,;:!?)]/g)) {
    out += escapeText(text.slice(last, m.index));
    last = m.index + m[0].length;
    out += `<${decodeEntities(m[0]).replace(/</g, '%3C').replace(/>/g, '%3E')}>`;
  }
  return out + escapeText(text.slice(last));
}

/** <url|text>, <url>, <!date^…^…|fallback>, <!here>, <@U…>, <#C…|name>. */
function angleToMarkdown(token: string): string {
  const bar = token.indexOf('|');
  const target = bar < 0 ? token : token.slice(0, bar);
  const label = bar < 0 ? undefined : token.slice(bar + 1);
  if (target.startsWith('!date^')) {
    if (label !== undefined) return escapeText(label);
    const seconds = Number(target.split('^')[1]);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : '-';
  }
  if (target.startsWith('!subteam^')) return escapeText(label ?? '@team');
  if (target.startsWith('!')) return `@${escapeText(target.slice(1))}`;
  if (target.startsWith('@')) return `@${escapeText(label ?? target.slice(1))}`;
  if (target.startsWith('#')) return `#${escapeText(label ?? target.slice(1))}`;
  const url = /[\s()<>]/.test(target) ? `<${target.replace(/>/g, '%3E')}>` : target;
  return label === undefined ? `<${target}>` : `[${mrkdwnToMarkdown(label)}](${url})`;
}

/** A Markdown code span holding `text` literally, whatever backticks it has. */
function codeToMarkdown(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Slack escapes &, < and > in mrkdwn; Markdown reads the same entities, so only code spans decode them. */
function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Text Slack shows literally: Markdown's own marks escaped (Slack's entities stay entities). */
function escapeText(text: string): string {
  return text.replace(/[\\`*_[\]~|]/g, '\\$&');
}

/** Plain text (a header): literal in Markdown too. */
export function plainToMarkdown(text: string): string {
  return escapeText(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}
