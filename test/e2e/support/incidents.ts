// The watcher's messages read as incidents, for the end-to-end suites: which
// condition each message is about (its `Incident <key>@<openedAtMs>` context
// element, or its headline for the notices), the watcher's /stats, the
// expected order of messages, and the invariant every scenario must keep:
//
//   - while a pool is still failing, the latest message about its condition
//     is never an all-clear;
//   - once everything is healthy, within ALERT_COOLDOWN_SEC +
//     RECOVERY_HOLD_SEC (+ Nginx's fail_timeout and some slack) the latest
//     message about each condition is an all-clear.
import { watcherStats as readStats } from '../../../ops/stack/index.js';
import type { StatsResponse } from '../../../watcher/statsResponse.js';
import { PORTS, receivedAlerts, sleep, startLoad, type SlackPost } from './stack.js';

/** Headlines that tell Slack a condition is over (the maintenance one: that nothing is open). */
export const ALL_CLEAR = /^(Recovered|Outage resolved|Error rate resolved|Failover closed|Maintenance ended: nothing is open)/;

/** Conditions the watcher opens incidents for; notices are keyed by their kind. */
// The line ends with when the message was made (slackMessage.ts).
const INCIDENT = /^Incident ((?:failover|degraded):(?:blue|green)|outage|error_rate)@(\d+) · last updated <!date\^\d+\^[^|>]*\|[^>]*>$/;
const NOTICES: [RegExp, string][] = [
  [/^Planned switch/, 'planned_switch'],
  [/^Maintenance ended/, 'maintenance_ended'],
];

export interface AlertMessage {
  /** When the receiver got it (epoch ms; containers share the host's clock). */
  at: number;
  /** The plain `text`: the headline, with "(open …)" after all but an incident's first message. */
  text: string;
  /** The Block Kit header. */
  headline: string;
  /** `failover:blue`, `outage`, `error_rate`, or the notice's kind; `unknown` when neither is found. */
  key: string;
  /** `<key>@<openedAtMs>` for an incident message. */
  incident?: string;
  /** The context lines other than the runbook link and the incident id ("Since the last message …"). */
  notes: string[];
  /** Every text of the message's blocks, for assertions on the body. */
  blocksText: string;
}

export const isIncidentKey = (key: string) => key === 'outage' || key === 'error_rate' || key.startsWith('failover:');

export function toMessage(post: SlackPost): AlertMessage {
  const blocks = (post.body.blocks ?? []) as { type?: string; text?: { text?: string }; elements?: { text?: string }[] }[];
  const headline = blocks.find((b) => b.type === 'header')?.text?.text ?? post.body.text;
  const contexts = blocks.filter((b) => b.type === 'context').flatMap((b) => (b.elements ?? []).map((e) => e.text ?? ''));
  const message: AlertMessage = { at: post.receivedAt, text: post.body.text, headline, key: 'unknown', notes: [], blocksText: JSON.stringify(blocks) };
  for (const text of contexts) {
    const match = INCIDENT.exec(text);
    if (match) {
      message.key = match[1]!;
      message.incident = `${match[1]}@${match[2]}`;
    } else if (!text.startsWith('Runbook:')) message.notes.push(text);
  }
  if (message.incident === undefined) message.key = NOTICES.find(([re]) => re.test(headline))?.[1] ?? 'unknown';
  return message;
}

/** Every message the receiver got, oldest first. */
export async function allMessages(): Promise<AlertMessage[]> {
  return (await receivedAlerts()).map(toMessage).sort((a, b) => a.at - b.at);
}

export type WatcherStats = StatsResponse;

/** This worker's stack's /stats, read as the host tools read it; 5 s, as a loaded e2e run needs. */
export const watcherStats = (): Promise<WatcherStats> => readStats({ WATCHER_HOST_PORT: PORTS.watcher }, 5_000);

/** Nothing open and nothing waiting for delivery: Slack has heard every all-clear. */
export const settled = (s: WatcherStats) => s.incidents.length === 0 && s.alerts.queued === 0;

/** Polls /stats until `test` holds; fails after `timeoutMs` with the last stats. */
export async function waitForStats(test: (s: WatcherStats) => boolean, timeoutMs: number, what: string): Promise<WatcherStats> {
  const deadline = Date.now() + timeoutMs;
  let last: WatcherStats | undefined;
  for (;;) {
    try {
      last = await watcherStats();
      if (test(last)) return last;
    } catch {
      // The watcher restarting: try again.
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last /stats incidents=${JSON.stringify(last?.incidents)} alerts=${JSON.stringify(last?.alerts)}`);
    }
    await sleep(250);
  }
}

/**
 * Sends 10 requests/s until the watcher has nothing open and nothing queued:
 * an incident resolves only once a pool is seen serving steadily, so a case
 * that left one open (a failover the watcher saw last) needs traffic to end it
 * before the next failover can be announced as a new incident.
 */
export async function settleUnderTraffic(timeoutMs: number): Promise<void> {
  const load = startLoad(10);
  try {
    await waitForStats(settled, timeoutMs, 'nothing open or queued');
  } finally {
    await load.stop();
  }
}

/** A message expected in a scenario: a pattern of its text, optional if it may or may not come. */
export type Expected = RegExp | { optional: RegExp };

/** Whether `texts` are, in order, the expected messages (optional ones may be missing). */
export function matchesSequence(texts: readonly string[], expected: readonly Expected[]): boolean {
  const go = (i: number, j: number): boolean => {
    if (j === expected.length) return i === texts.length;
    const e = expected[j]!;
    if (e instanceof RegExp) return i < texts.length && e.test(texts[i]!) && go(i + 1, j + 1);
    return (i < texts.length && e.optional.test(texts[i]!) && go(i + 1, j + 1)) || go(i, j + 1);
  };
  return go(0, 0);
}

/** A failure the scenario caused, from when it surely held to when it surely still held. */
export interface Fault {
  name: string;
  from: number;
  /** Unset while it lasts. */
  to?: number;
  /** Conditions whose latest message must not be an all-clear once the failure had `graceMs` to be detected. */
  keys: string[];
}

export interface InvariantInput {
  /** Every message the receiver got, this scenario's and earlier ones (an earlier all-clear may still be the latest word). */
  all: readonly AlertMessage[];
  /** When the scenario began: messages from then on are its own. */
  start: number;
  faults: readonly Fault[];
  /** Time a failure has to reach Slack before the invariant applies to it. */
  graceMs: number;
  /** When the last fault ended, and the all-clear deadline measured from it. */
  healthyAt: number;
  allClearWithinMs: number;
}

/**
 * The invariant, checked at every instant the latest word could change (each
 * message's arrival) and at each fault's start + grace. Returns what broke it,
 * one line per violation; empty when it held.
 */
export function invariantViolations(input: InvariantInput): string[] {
  const { all, start, faults, graceMs } = input;
  const own = all.filter((m) => m.at >= start);
  const latest = (key: string, t: number, pool: readonly AlertMessage[]) => pool.filter((m) => m.key === key && m.at <= t).at(-1);
  const violations: string[] = [];
  const since = (t: number) => `${t >= start ? '+' : ''}${((t - start) / 1000).toFixed(1)} s`;
  const show = (m: AlertMessage | undefined) => (m === undefined ? 'nothing' : `"${m.text}" (${since(m.at)})`);

  for (const fault of faults) {
    const from = fault.from + graceMs;
    const to = fault.to ?? Number.POSITIVE_INFINITY;
    if (from > to) continue;
    const instants = [from, ...own.filter((m) => m.at > from && m.at <= to).map((m) => m.at)];
    for (const t of instants) {
      // The fault's own conditions, whose latest word may predate the scenario,
      // and every condition this scenario has spoken of so far.
      const keys = new Set([...fault.keys, ...own.filter((m) => m.at <= t).map((m) => m.key)]);
      for (const key of keys) {
        const last = latest(key, t, fault.keys.includes(key) ? all : own);
        const at = since(t);
        if (fault.keys.includes(key) && last === undefined) violations.push(`${at}, ${fault.name}: no message about ${key} yet`);
        else if (last !== undefined && ALL_CLEAR.test(last.headline)) {
          violations.push(`${at}, ${fault.name}: the latest message about ${key} is an all-clear: ${show(last)}`);
        }
      }
    }
  }

  const deadline = input.healthyAt + input.allClearWithinMs;
  const keys = new Set([...faults.flatMap((f) => f.keys), ...own.map((m) => m.key)].filter(isIncidentKey));
  for (const key of keys) {
    const last = latest(key, Number.POSITIVE_INFINITY, all);
    if (last === undefined || !ALL_CLEAR.test(last.headline)) {
      violations.push(`healthy since ${since(input.healthyAt)}: the latest message about ${key} is not an all-clear: ${show(last)}`);
    } else if (last.at > deadline) {
      violations.push(`the all-clear about ${key} came ${((last.at - input.healthyAt) / 1000).toFixed(1)} s after healing, later than ${input.allClearWithinMs / 1000} s: ${show(last)}`);
    }
  }
  return violations;
}

/** One line per message, for the console: seconds after `t0`, the condition, the text. */
export function describeMessages(messages: readonly AlertMessage[], t0: number, healthyAt?: number): string {
  return messages
    .map((m) => {
      const after = `+${((m.at - t0) / 1000).toFixed(1)} s`.padStart(9);
      const healed = healthyAt !== undefined && m.at >= healthyAt ? `  (${((m.at - healthyAt) / 1000).toFixed(1)} s after healing)` : '';
      return [`  ${after}  ${m.key.padEnd(17)} ${m.text}${healed}`, ...m.notes.map((n) => `${' '.repeat(30)}${n}`)].join('\n');
    })
    .join('\n');
}
