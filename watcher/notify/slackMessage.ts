// Notification → Slack incoming-webhook payload (Block Kit). Values that came
// from a log line (paths, methods, releases, addresses) are shown in code
// formatting, where Slack applies no styling and makes no link or mention,
// with backticks replaced so they cannot close it. Everything is cut to Block
// Kit's limits: Slack rejects a payload over any limit whole, and then the
// page never arrives. Times are Slack date tokens (slackDate), which each
// reader sees in their own time zone.
import type { ConditionView, RequestSample } from '../detect/index.js';
import type { IncidentNotification, Notification } from '../policy/index.js';
import type { HistoryEntry } from '../history.js';
import { runbookAnchor } from '../catalogue.js';
import type { AlertKind } from '../vocabulary.js';
import { poolName } from '../../common/config.js';
import { duration, fromTo, headline, percent, sinceLast, summaryLines } from './wording.js';

// https://docs.slack.dev/reference/block-kit/blocks/header-block
const HEADER_MAX = 150;
// https://docs.slack.dev/reference/block-kit/blocks/section-block (also: at most 10 fields)
const FIELD_MAX = 2000;
const SECTION_TEXT_MAX = 3000;

const UNKNOWN = '-';
const POOLS = poolName.options;

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
      ['Down since', `${slackDate(n.downSince)} (last sign of life)`],
      ['Back at', slackDate(n.at)],
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
      ['Time', slackDate(n.at)],
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
    // With a bot token this message is edited as the incident changes: when it last was, at a glance.
    context.push(mrkdwn(`${escapeMrkdwn(`Incident ${n.incidentId}`)} · last updated ${slackDate(n.at)}`));
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
    ['Time', slackDate(t.at)],
    ['Means', 'Alerts from this stack reach this channel.'],
  ];
  // The bot-token mode edits each incident's message in place: the test shows it can.
  if (t.edited !== undefined) fields.push(['Edited', `${slackDate(t.edited)}: incidents' messages are kept current like this`]);
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

/** An incident's message as it opened during a release run: linked to the run's message, in every version. */
export function duringRelease(m: SlackMessage, release: string, url: string): SlackMessage {
  return withContext(m, `During release ${code(release)}: ${slackLink(url, 'its message')}`);
}

/** The reply in a release run's thread that links the incident that opened during it. */
export function openedDuringRelease(url: string, incident: SlackMessage): SlackMessage {
  return { text: `${slackLink(url, incident.text)}: opened during this release`, blocks: [] };
}

function message(title: string, text: string, body: object, context: object[]): SlackMessage {
  const blocks = [{ type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX) } }, body];
  // Slack rejects a context block without elements.
  if (context.length > 0) blocks.push({ type: 'context', elements: context });
  return { text: escapeMrkdwn(text), blocks };
}

type Field = [label: string, value: string];

/**
 * Each state of an incident carries only what matters in it: while open,
 * what fails, what serves, what the failing pool did since it opened, the
 * request that last showed it and since when; once resolved, what was back,
 * how long it lasted and when, and no failure counts.
 */
function incidentFields(n: IncidentNotification): Field[] {
  return n.message === 'resolved' ? resolvedFields(n) : openFields(n);
}

function openFields(n: IncidentNotification): Field[] {
  const c = n.condition;
  const w = c.window;
  const fields: Field[] = [];
  const clients: Field = ['Client-visible 5xx', `${percent(w.clientErrorRate)}% (${w.clientErrors} of ${w.count})`];
  switch (c.kind) {
    case 'failover':
      if (c.level === 'recovering') {
        // Serving again, on hold: one pool to name.
        fields.push(['Recovering pool (release)', poolAndRelease(c, c.pool)]);
      } else {
        fields.push(['Failing pool (release)', poolAndRelease(c, c.pool)]);
        fields.push(['Serving pool (release)', poolAndRelease(c, c.servingPool)]);
      }
      fields.push(sinceOpenField(c));
      // The change that opened it is in the headline; more say it is flapping.
      if ((c.flips ?? 0) > 1) fields.push(['Pool changes', `${c.flips ?? 0} while open, ${c.recentFlips ?? 0} in the last 10 min`]);
      fields.push(clients);
      break;
    case 'degraded': {
      fields.push(['Degraded pool (release)', poolAndRelease(c, c.pool)]);
      const replicas = (c.replicas ?? []).map((r) => `${code(r.addr)} (${r.failures} failed attempt${r.failures === 1 ? '' : 's'})`);
      fields.push(['Failing replicas', replicas.length === 0 ? UNKNOWN : replicas.join('\n')]);
      fields.push(sinceOpenField(c));
      break;
    }
    case 'outage':
      // Nothing serves: both pools' releases, for a bad build on both.
      fields.push(['Pools (releases)', POOLS.map((pool) => poolAndRelease(c, pool)).join(', ')]);
      fields.push(clients);
      break;
    case 'error_rate': {
      fields.push(['Serving pool (release)', poolAndRelease(c, c.servingPool)]);
      fields.push(clients);
      fields.push(['Upstream 5xx', `${percent(w.upstreamErrorRate)}% (${w.upstreamErrors} of ${w.count}, window ${w.size})`]);
      const top = w.topFailingUpstream;
      fields.push(['Top failing upstream', top === undefined ? UNKNOWN : `${code(top.addr)} (${top.failures} failed attempts)`]);
      break;
    }
  }
  fields.push(...requestFields(c.lastFailure));
  fields.push(['Open since', `${slackDate(n.openedAt)} (${duration(n.at - n.openedAt)})`]);
  return fields;
}

function resolvedFields(n: IncidentNotification): Field[] {
  const c = n.condition;
  // When it resolved, which the message may follow by a cooldown.
  const resolvedAt = !c.active && c.since >= n.openedAt ? c.since : n.at;
  const fields: Field[] = [];
  if (c.kind === 'failover' || c.kind === 'degraded') {
    if (c.pool === c.primaryPool) {
      fields.push(['Recovered pool (release)', poolAndRelease(c, c.pool)]);
    } else {
      // Closed by a planned switch: the pool is not back, the other one is the primary.
      fields.push(['Pool that failed (release)', poolAndRelease(c, c.pool)]);
      fields.push(['Primary now (release)', poolAndRelease(c, c.primaryPool)]);
    }
  } else {
    fields.push(['Serving pool (release)', poolAndRelease(c, c.servingPool)]);
  }
  fields.push(['Lasted', duration(resolvedAt - n.openedAt)]);
  fields.push(['Opened', slackDate(n.openedAt)]);
  fields.push(['Resolved', slackDate(resolvedAt)]);
  return fields;
}

/**
 * The failing pool since the incident opened: its attempts then, probes
 * included, not a window of its last attempts, which while it is out is
 * mostly the successes before it. A view saved before the count was kept
 * has only the window's share, said as such.
 */
function sinceOpenField(c: ConditionView): Field {
  const pool = c.pool ?? UNKNOWN;
  const since = c.sinceOpen;
  if (since === undefined) {
    const share = c.share ?? { failed: 0, attempts: 0 };
    return ['Failed attempts', `${ratio(share.failed, share.attempts)} of the last ${share.attempts} attempts to ${pool}`];
  }
  const label = `${capitalized(pool)} since it ${c.kind === 'degraded' ? 'degraded' : 'failed'}`;
  const backup = c.servingPool !== c.pool ? c.servingPool : undefined;
  if (since.attempts === 0) return [label, `no attempts yet${backup === undefined ? '' : `: Nginx sends its requests to ${backup}`}`];
  const counted = `${since.failed} of ${since.attempts} attempt${since.attempts === 1 ? '' : 's'} failed`;
  if (since.failed === 0) return [label, counted];
  const them = since.failed === 1 ? 'it' : 'them';
  if (c.kind === 'degraded') return [label, `${counted} (other ${pool} replicas answered ${them})`];
  return [label, backup === undefined ? counted : `${counted} (Nginx retried ${them} on ${backup})`];
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
  const at = Date.parse(e.time);
  fields.push(['Time', `${Number.isNaN(at) ? code(e.time) : slackDate(at)}${e.durationMs === undefined ? '' : ` (took ${duration(e.durationMs)})`}`]);
  return fields;
}

function requestFields(r: RequestSample | undefined): Field[] {
  if (r === undefined) return [];
  return [['Last failed request', `${code(`${r.method ?? UNKNOWN} ${r.path ?? UNKNOWN}`)}: ${whoAnswered(r)}`]];
}

/**
 * Whose each status was: every attempt's, by pool and address as Nginx
 * logged them ($upstream_status, $upstream_addr), then the client's, which is
 * the last attempt's or Nginx's own. "blue answered 500 (`10.0.0.3:3000`),
 * the client got 200 from green".
 */
function whoAnswered(r: RequestSample): string {
  const statuses = r.upstreamStatuses;
  const last = statuses.length - 1;
  if (last < 0) return `Nginx tried no pool, the client got its ${r.status}`;
  const pools = r.upstreamPools;
  // The client got the last attempt's answer, and a pool served it.
  const passedOn = statuses[last] === r.status;
  const served = passedOn && r.status < 500;
  const parts: string[] = [];
  for (let i = 0; i < (served ? last : last + 1); i++) parts.push(answered(pools?.[i], r.upstreamAddrs[i], statuses[i]));
  if (served) {
    const pool = pools?.[last];
    const at = addrCode(r.upstreamAddrs[last]);
    let from = pool ?? at ?? 'an upstream';
    // The address too when the pool alone does not say which: another replica of a pool that failed in it.
    if (pool !== undefined && at !== undefined && pools?.slice(0, last).includes(pool)) from = `${pool} (${at})`;
    parts.push(`the client got ${r.status} from ${from}`);
  } else if (passedOn) {
    const pool = pools?.[last];
    parts.push(`the client got ${pool === undefined ? 'that' : `${pool}'s`} ${r.status}`);
  } else {
    parts.push(`the client got Nginx's ${r.status}`);
  }
  return parts.join(', ');
}

/** "blue answered 500 (`10.0.0.3:3000`)", with what of the pool and address is known. */
function answered(pool: string | undefined, addr: string | undefined, status: number | undefined): string {
  const at = addrCode(addr);
  if (pool === undefined) return `${at ?? 'an upstream'} answered ${status}`;
  return `${pool} answered ${status}${at === undefined ? '' : ` (${at})`}`;
}

function addrCode(addr: string | undefined): string | undefined {
  return addr === undefined || addr === '' ? undefined : code(addr);
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

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * A time as Slack shows it: a date token each reader sees in their own time
 * zone (https://docs.slack.dev/messaging/formatting-message-text#date-formatting),
 * with a fallback in UTC to the second where a client cannot render it.
 */
export function slackDate(at: number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return UNKNOWN;
  const iso = date.toISOString();
  return `<!date^${Math.floor(at / 1000)}^{date_short_pretty} {time}|${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC>`;
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
