// Alert → Slack incoming-webhook payload (Block Kit). Pool names, addresses and
// paths come from the log, so they are escaped for mrkdwn and cut to Block
// Kit's limits: Slack rejects a payload over any limit whole, and then the page
// never arrives.
import type { Alert, AlertKind } from '../types.js';

// https://docs.slack.dev/reference/block-kit/blocks/header-block
const HEADER_MAX = 150;
// https://docs.slack.dev/reference/block-kit/blocks/section-block (also: at most 10 fields)
const FIELD_MAX = 2000;

const RUNBOOK_ANCHORS: Record<AlertKind, string> = {
  failover: 'failover-detected',
  recovery: 'recovered',
  planned_switch: 'planned-switch',
  error_rate: 'high-error-rate',
  resolved: 'error-rate-resolved',
};

const UNKNOWN = '-';

/** An incoming-webhook payload: `text` is the notification and fallback, `blocks` the rich layout. */
export interface SlackMessage {
  text: string;
  blocks: object[];
}

export function formatSlackMessage(alert: Alert, opts: { runbookUrl: string }): SlackMessage {
  const title = headline(alert);
  const held = alert.heldBack > 0 ? `${alert.heldBack} more held back by cooldown` : undefined;
  const context = [mrkdwn(`Runbook: ${escapeMrkdwn(runbookLink(opts.runbookUrl, alert.kind))}`)];
  if (held !== undefined) context.push(mrkdwn(held));
  return {
    text: escapeMrkdwn(held === undefined ? title : `${title} (${held})`),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX) } },
      { type: 'section', fields: fields(alert).map(([label, value]) => mrkdwn(field(label, value))) },
      { type: 'context', elements: context },
    ],
  };
}

function headline(alert: Alert): string {
  const change = `pool changed ${alert.from ?? UNKNOWN} → ${alert.to ?? UNKNOWN}`;
  const { errorRate, count } = alert.window;
  const threshold = `(threshold ${percent(alert.thresholdPercent)}%)`;
  switch (alert.kind) {
    case 'failover':
      return `Failover detected: ${change}`;
    case 'recovery':
      return `Recovered: ${change}`;
    case 'planned_switch':
      return `Planned switch: ${change}`;
    case 'error_rate':
      return `High error rate: ${percent(errorRate)}% of the last ${count} requests failed ${threshold}`;
    case 'resolved':
      return `Error rate resolved: ${percent(errorRate)}% of the last ${count} requests ${threshold}`;
  }
}

function fields(alert: Alert): [label: string, value: string][] {
  const r = alert.record;
  const w = alert.window;
  const top = w.topFailingUpstream;
  return [
    ['From pool (release)', poolAndRelease(alert.from, alert.fromRelease)],
    ['To pool (release)', poolAndRelease(alert.to, alert.toRelease)],
    ['Upstream status', r === undefined ? UNKNOWN : list(r.upstreamStatuses)],
    ['Upstream address', r === undefined ? UNKNOWN : list(r.upstreamAddrs)],
    ['Client-visible 5xx', share(w.clientErrorRate, w.clientErrors, w.count)],
    ['Upstream 5xx', share(w.upstreamErrorRate, w.upstreamErrors, w.count)],
    ['Window', `last ${w.count} requests (size ${w.size})`],
    ['Top failing upstream', top === undefined ? UNKNOWN : `${top.addr} (${top.failures} failed attempts)`],
    ['Request', r === undefined ? UNKNOWN : `${r.method ?? UNKNOWN} ${r.path ?? UNKNOWN} → ${r.status}`],
    ['Time', iso(alert.at)],
  ];
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

function field(label: string, value: string): string {
  const head = `*${label}*\n`;
  return head + cut(escapeMrkdwn(value), FIELD_MAX - head.length);
}

function poolAndRelease(pool: string | undefined, release: string | undefined): string {
  return `${pool ?? UNKNOWN} (${release ?? UNKNOWN})`;
}

function list(values: readonly (string | number)[]): string {
  return values.length === 0 ? UNKNOWN : values.join(', ');
}

function share(rate: number, part: number, count: number): string {
  return `${percent(rate)}% (${part} of ${count})`;
}

/** At most one decimal, and none when it would be `.0`: 7.5, 2, 0.5. */
function percent(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function iso(at: number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? UNKNOWN : date.toISOString();
}

function runbookLink(runbookUrl: string, kind: AlertKind): string {
  const hash = runbookUrl.indexOf('#');
  const base = hash < 0 ? runbookUrl : runbookUrl.slice(0, hash);
  return `${base}#${RUNBOOK_ANCHORS[kind]}`;
}

/** Slack reads &, < and > as control characters in mrkdwn; everything else is literal. */
function escapeMrkdwn(text: string): string {
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
