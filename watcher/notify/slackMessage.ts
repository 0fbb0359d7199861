// Notification → Slack incoming-webhook payload (Block Kit). Values that came
// from a log line (paths, methods, releases, addresses) are shown in code
// formatting, where Slack applies no styling and makes no link or mention,
// with backticks replaced so they cannot close it. Everything is cut to Block
// Kit's limits: Slack rejects a payload over any limit whole, and then the
// page never arrives.
import type { ConditionView, RequestSample } from '../detect/index.js';
import type { IncidentNotification, Notification } from '../policy/index.js';
import type { HistoryEntry } from '../history.js';
import { runbookAnchor } from '../catalogue.js';
import type { AlertKind } from '../vocabulary.js';
import { duration, fromTo, headline, percent, sinceLast, summaryLines } from './wording.js';

// https://docs.slack.dev/reference/block-kit/blocks/header-block
const HEADER_MAX = 150;
// https://docs.slack.dev/reference/block-kit/blocks/section-block (also: at most 10 fields)
const FIELD_MAX = 2000;
const SECTION_TEXT_MAX = 3000;

const UNKNOWN = '-';

/** An incoming-webhook payload: `text` is the notification and fallback, `blocks` the rich layout. */
export interface SlackMessage {
  text: string;
  blocks: object[];
}

/** `runbookUrl`: an http(s) URL (config.ts's runbookBase), or none for no link. */
export function formatSlackMessage(n: Notification, opts: { runbookUrl: string | undefined }): SlackMessage {
  const title = headline(n);
  const context = opts.runbookUrl === undefined ? [] : [mrkdwn(`Runbook: ${escapeMrkdwn(runbookLink(opts.runbookUrl, n.kind))}`)];
  let text = title;
  let body: object;
  if (n.kind === 'watcher_restarted') {
    body = fieldsSection([
      ['Down since', `${iso(n.downSince)} (last sign of life)`],
      ['Back at', iso(n.at)],
      ['Meanwhile', 'Nothing was watched. The log written meanwhile is read from the saved position: alerts about that time follow.'],
    ]);
  } else if (n.kind === 'past_incident') {
    // The incident's own fields, as its all-clear would have shown them, and why it comes only now.
    const fields = incidentFields({ ...n, kind: n.condition.kind, message: 'resolved', incidentId: '', openedAt: n.openedAt, at: n.resolvedAt, deferred: 0 });
    fields.push(['Told now because', 'The watcher was down while it happened: it was read from the access log after the restart, and had already ended.']);
    body = fieldsSection(fields);
  } else if (n.kind === 'planned_switch') {
    body = fieldsSection([
      ['From pool (release)', `${n.from} (${code(n.fromRelease)})`],
      ['To pool (release)', `${n.to} (${code(n.toRelease)})`],
      ['Time', iso(n.at)],
    ]);
  } else if (n.kind === 'release') {
    body = fieldsSection(releaseFields(n.entry));
  } else if (n.kind === 'maintenance_ended') {
    const lines = summaryLines(n);
    body = { type: 'section', text: mrkdwn(cut(escapeMrkdwn(lines.length === 0 ? 'No incident opened during maintenance.' : lines.join('\n')), SECTION_TEXT_MAX)) };
  } else {
    body = fieldsSection(incidentFields(n));
    const since = sinceLast(n);
    if (since !== undefined) context.push(mrkdwn(escapeMrkdwn(since)));
    context.push(mrkdwn(escapeMrkdwn(`Incident ${n.incidentId}`)));
    if (n.message !== 'opened') text = `${title} (open ${duration(n.at - n.openedAt)})`;
  }
  return message(title, text, body, context);
}

/**
 * `make test-alert`: what an alert looks like, marked as a test in its first
 * words so nobody in the channel acts on it.
 */
export function formatTestMessage(t: { at: number; who: string; edited?: number }): SlackMessage {
  const title = 'Test alert from the bluegreen watcher: no action needed';
  const fields: Field[] = [
    ['Sent by', code(t.who)],
    ['Time', iso(t.at)],
    ['Means', 'Alerts from this stack reach this channel.'],
  ];
  // The bot-token mode edits each incident's message in place: the test shows it can.
  if (t.edited !== undefined) fields.push(['Edited', `${iso(t.edited)}: incidents' messages are kept current like this`]);
  const body = fieldsSection(fields);
  return message(title, title, body, []);
}

/** `message` with one more line of context (mrkdwn, already escaped), e.g. a link to a related message. */
export function withContext(m: SlackMessage, line: string): SlackMessage {
  const element = mrkdwn(cut(line, SECTION_TEXT_MAX));
  const last = m.blocks.at(-1) as { type?: string; elements?: object[] } | undefined;
  // Slack takes at most 10 elements in a context block.
  if (last?.type === 'context' && (last.elements?.length ?? 0) < 10) return { ...m, blocks: [...m.blocks.slice(0, -1), { ...last, elements: [...last.elements!, element] }] };
  return { ...m, blocks: [...m.blocks, { type: 'context', elements: [element] }] };
}

/** A Slack link to `url` reading `text` (mrkdwn, already escaped): neither can end it early. */
export function slackLink(url: string, text: string): string {
  return `<${url.replace(/[<>|]/g, encodeURIComponent)}|${text.replace(/\|/g, '¦')}>`;
}

function message(title: string, text: string, body: object, context: object[]): SlackMessage {
  const blocks = [{ type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX) } }, body];
  // Slack rejects a context block without elements.
  if (context.length > 0) blocks.push({ type: 'context', elements: context });
  return { text: escapeMrkdwn(text), blocks };
}

type Field = [label: string, value: string];

function incidentFields(n: IncidentNotification): Field[] {
  const c = n.condition;
  const fields: Field[] = [];
  if (c.kind === 'failover') {
    fields.push(['Failing pool (release)', poolAndRelease(c, c.pool)]);
    fields.push(['Serving pool (release)', poolAndRelease(c, c.servingPool)]);
    const share = c.share ?? { failed: 0, attempts: 0 };
    fields.push(['Failed attempts', `${ratio(share.failed, share.attempts)} of the last ${share.attempts} attempts to ${c.pool}`]);
    fields.push(['Pool changes', `${c.flips ?? 0} while open, ${c.recentFlips ?? 0} in the last 10 min`]);
  } else if (c.kind === 'degraded') {
    fields.push(['Degraded pool (release)', poolAndRelease(c, c.pool)]);
    const replicas = (c.replicas ?? []).map((r) => `${code(r.addr)} (${r.failures} failed attempt${r.failures === 1 ? "" : "s"})`);
    fields.push(['Failing replicas', replicas.length === 0 ? UNKNOWN : replicas.join('\n')]);
    const share = c.share ?? { failed: 0, attempts: 0 };
    fields.push(['Failed attempts', `${ratio(share.failed, share.attempts)} of the last ${share.attempts} attempts to ${c.pool}`]);
  } else {
    fields.push(['Serving pool (release)', poolAndRelease(c, c.servingPool)]);
  }
  const w = c.window;
  fields.push(['Client-visible 5xx', `${percent(w.clientErrorRate)}% (${w.clientErrors} of ${w.count})`]);
  fields.push(['Upstream 5xx', `${percent(w.upstreamErrorRate)}% (${w.upstreamErrors} of ${w.count}, window ${w.size})`]);
  if (c.kind === 'error_rate') {
    const top = w.topFailingUpstream;
    fields.push(['Top failing upstream', top === undefined ? UNKNOWN : `${code(top.addr)} (${top.failures} failed attempts)`]);
  }
  fields.push(...requestFields(c.lastFailure));
  fields.push([n.message === 'resolved' ? 'Was open' : 'Open since', `${iso(n.openedAt)} (${duration(n.at - n.openedAt)})`]);
  return fields;
}

/** The operator's reason is free text: shown as code, like a client's. */
function releaseFields(e: HistoryEntry): Field[] {
  const fields: Field[] = [];
  const releases = fromTo(e.fromRelease && code(e.fromRelease), e.release && code(e.release));
  if (releases !== undefined) fields.push(['Release', releases]);
  const pools = fromTo(e.fromPool, e.pool);
  if (pools !== undefined) fields.push(['Pools', pools]);
  if (e.reason !== undefined) fields.push(['Reason', code(e.reason)]);
  fields.push(['Who', code(e.who)]);
  fields.push(['Time', `${e.time}${e.durationMs === undefined ? '' : ` (took ${duration(e.durationMs)})`}`]);
  return fields;
}

function requestFields(r: RequestSample | undefined): Field[] {
  if (r === undefined) return [];
  return [
    ['Last failed request', `${code(`${r.method ?? UNKNOWN} ${r.path ?? UNKNOWN}`)} → ${r.status}`],
    ['Upstream status (address)', `${list(r.upstreamStatuses)} (${code(list(r.upstreamAddrs))})`],
  ];
}

function fieldsSection(fields: Field[]): object {
  return { type: 'section', fields: fields.slice(0, 10).map(([label, value]) => mrkdwn(field(label, value))) };
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

/** `value` is already formatted mrkdwn (code spans escaped by code()). */
function field(label: string, value: string): string {
  const head = `*${label}*\n`;
  return head + cut(value, FIELD_MAX - head.length);
}

function poolAndRelease(c: ConditionView, pool: string | undefined): string {
  if (pool === undefined) return UNKNOWN;
  return `${pool} (${code(c.releases[pool as 'blue' | 'green'])})`;
}

function ratio(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${percent((part / whole) * 100)}% (${part})`;
}

function list(values: readonly (string | number)[]): string {
  return values.length === 0 ? UNKNOWN : values.join(', ');
}

function iso(at: number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? UNKNOWN : date.toISOString();
}

export function runbookLink(runbookUrl: string, kind: AlertKind): string {
  const hash = runbookUrl.indexOf('#');
  const base = hash < 0 ? runbookUrl : runbookUrl.slice(0, hash);
  return `${base}#${runbookAnchor(kind)}`;
}

// A field holds at most 2000 characters; a value longer than this is cut first.
const CODE_MAX = 500;

/**
 * Text a client controls, as inline code: no bold, italics, links or
 * mentions inside. A backtick would close the span, and a newline end it, so
 * both are replaced.
 */
export function code(value: string | undefined): string {
  if (value === undefined || value === '') return UNKNOWN;
  // Cut after escaping, which can grow the text fivefold (& → &amp;), so the
  // span always closes within the field's limit.
  const plain = value.replace(/`/g, 'ˋ').replace(/[\r\n]+/g, ' ');
  return `\`${cut(escapeMrkdwn(plain), CODE_MAX)}\``;
}

/** Slack reads &, < and > as control characters in mrkdwn; everything else is literal. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts to at most `max` UTF-16 units with a trailing ellipsis, never inside a
 * surrogate pair or an `&amp;`-style entity, which would render as garbage.
 */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  const amp = text.lastIndexOf('&', end - 1);
  if (amp >= 0 && amp > end - 5 && text.indexOf(';', amp) >= end) end = amp;
  return `${text.slice(0, end)}…`;
}
