// A stand-in for Slack's Web API (https://docs.slack.dev/reference/methods),
// as the watcher, `make test-alert` and Alertmanager call it: auth.test,
// chat.postMessage, chat.update and chat.getPermalink, with the documented
// answers: HTTP 200 and `{"ok": true, …}` or `{"ok": false, "error": "…"}`,
// and HTTP 429 with Retry-After when rate limited. Bodies are taken as JSON
// or as a form, the token as a Bearer header or a `token` field, as Slack does.
//
// Plain JavaScript, no dependencies: the end-to-end receiver container runs
// it as is (receiver.mjs), and the unit tests import it (slackApi.d.mts).
//
// It keeps the channel as Slack would show it (`messages()`: each top-level
// message and thread reply, with its edits) and every call in order
// (`calls()`). Faults are scripted per method, each for the next call only:
//   fail('chat.update', { status: 429, retryAfter: 1 })  rate limited once
//   fail('chat.postMessage', { error: 'not_in_channel' }) an ok:false answer
//   remove(channel, ts)                                   a message deleted in Slack

/** What a good token answers to in auth.test, and what Slack calls the bot. */
const TEAM = { team: 'Stand-in', team_id: 'T0STANDIN', user: 'bluegreen-bot', user_id: 'U0BOT', bot_id: 'B0BOT' };
// https://docs.slack.dev/reference/methods/chat.postMessage#errors (the ones a test plants)
const KNOWN_ERRORS = new Set([
  'invalid_auth', 'not_authed', 'token_revoked', 'account_inactive', 'missing_scope', 'not_in_channel', 'channel_not_found',
  'is_archived', 'msg_too_long', 'no_text', 'invalid_blocks', 'message_not_found', 'cant_update_message', 'edit_window_closed',
  'ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout',
]);

/**
 * @param {{ tokens?: string[], channels?: string[], scopes?: string[] }} [options]
 *   tokens: accepted bot tokens (default: any `xoxb-…`); channels: channels the bot is in (default C0STANDIN).
 */
export function createSlackApi(options = {}) {
  const channels = new Set(options.channels ?? ['C0STANDIN']);
  const accepts = (token) => (options.tokens === undefined ? /^xoxb-[\w-]+$/.test(token) : options.tokens.includes(token));
  /** Top-level messages and replies, by `${channel}/${ts}`. */
  const messages = new Map();
  const calls = [];
  const faults = new Map();
  let seq = 0;
  let clock = 1_700_000_000;

  function nextTs() {
    // Slack's ts: seconds, a dot, six digits; unique per channel and increasing.
    seq++;
    return `${clock + Math.floor(seq / 1_000_000)}.${String(seq % 1_000_000).padStart(6, '0')}`;
  }

  const methods = {
    'auth.test': () => ({ ok: true, url: 'https://stand-in.slack.com/', ...TEAM }),
    'chat.postMessage': (args) => {
      const channel = String(args.channel ?? '');
      if (!channels.has(channel)) return { ok: false, error: channel === '' ? 'channel_not_found' : 'not_in_channel' };
      if (!args.text && !args.blocks && !args.attachments) return { ok: false, error: 'no_text' };
      if (String(args.text ?? '').length > 40_000) return { ok: false, error: 'msg_too_long' };
      const threadTs = args.thread_ts === undefined || args.thread_ts === '' ? undefined : String(args.thread_ts);
      if (threadTs !== undefined && !messages.has(`${channel}/${threadTs}`)) return { ok: false, error: 'thread_not_found' };
      const ts = nextTs();
      const message = {
        channel, ts, text: args.text ?? '', blocks: parseList(args.blocks), attachments: parseList(args.attachments),
        ...(threadTs === undefined ? {} : { thread_ts: threadTs, reply_broadcast: truthy(args.reply_broadcast) }),
        edits: 0,
        versions: [],
      };
      messages.set(`${channel}/${ts}`, message);
      return { ok: true, channel, ts, message: { type: 'message', text: message.text, ts, bot_id: TEAM.bot_id } };
    },
    'chat.update': (args) => {
      const channel = String(args.channel ?? '');
      const message = messages.get(`${channel}/${args.ts}`);
      if (message === undefined) return { ok: false, error: channels.has(channel) ? 'message_not_found' : 'channel_not_found' };
      message.versions.push({ text: message.text, blocks: message.blocks, attachments: message.attachments });
      message.text = args.text ?? message.text;
      if (args.blocks !== undefined) message.blocks = parseList(args.blocks);
      if (args.attachments !== undefined) message.attachments = parseList(args.attachments);
      message.edits++;
      return { ok: true, channel, ts: message.ts, text: message.text };
    },
    'chat.getPermalink': (args) => {
      const channel = String(args.channel ?? '');
      const ts = String(args.message_ts ?? '');
      if (!messages.has(`${channel}/${ts}`)) return { ok: false, error: 'message_not_found' };
      return { ok: true, channel, permalink: permalink(channel, ts) };
    },
  };

  /**
   * One call: `path` is `/api/<method>`; `headers` the request's; `body` its text.
   * Returns the HTTP answer to write.
   */
  function call(path, headers, body) {
    const method = path.replace(/^\/api\//, '').split('?')[0];
    const args = parseBody(headers['content-type'] ?? '', body);
    const token = bearer(headers.authorization) ?? args.token;
    const answer = answerFor(method, args, token);
    calls.push({ method, args, ...(token === undefined ? {} : { token: `${String(token).slice(0, 5)}…` }), status: answer.status, answer: answer.body, at: Date.now() });
    return answer;
  }

  function answerFor(method, args, token) {
    const fault = faults.get(method)?.shift();
    if (fault?.status === 429) return { status: 429, headers: { 'retry-after': String(fault.retryAfter ?? 1) }, body: { ok: false, error: 'ratelimited' } };
    if (fault?.status !== undefined) return { status: fault.status, body: { ok: false, error: 'stand_in_told_to_fail' } };
    if (fault?.error !== undefined) return ok200({ ok: false, error: fault.error });
    const run = methods[method];
    if (run === undefined) return { status: 404, body: { ok: false, error: 'unknown_method' } };
    if (token === undefined || token === '') return ok200({ ok: false, error: 'not_authed' });
    if (!accepts(token)) return ok200({ ok: false, error: 'invalid_auth' });
    return ok200(run(args));
  }

  return {
    call,
    /** The next call to `method` fails once: `{status: 429, retryAfter}`, `{status: 5xx}` or `{error: 'not_in_channel'}`. */
    fail(method, fault) {
      if (fault.error !== undefined && !KNOWN_ERRORS.has(fault.error)) throw new Error(`not an error Slack documents: ${fault.error}`);
      faults.set(method, [...(faults.get(method) ?? []), fault]);
    },
    /** As if someone deleted the message in Slack: a chat.update on it answers message_not_found. */
    remove(channel, ts) {
      return messages.delete(`${channel}/${ts}`);
    },
    /** Every call so far, in order: method, arguments, status and answer. */
    calls: () => calls.map((c) => ({ ...c })),
    /** The channel as Slack shows it: top-level messages in order, each with its thread replies. */
    messages() {
      const all = [...messages.values()].map((m) => ({ ...m }));
      return all
        .filter((m) => m.thread_ts === undefined)
        .map((m) => ({ ...m, replies: all.filter((r) => r.thread_ts === m.ts && r.channel === m.channel) }));
    },
    reset() {
      messages.clear();
      calls.length = 0;
      faults.clear();
      clock += 1000;
    },
  };
}

/** The URL Slack's chat.getPermalink gives for a message: the archive link, `p` and the ts without its dot. */
export function permalink(channel, ts) {
  return `https://stand-in.slack.com/archives/${channel}/p${String(ts).replace('.', '')}`;
}

function ok200(body) {
  return { status: 200, body };
}

function bearer(header) {
  const match = /^Bearer (\S+)$/.exec(header ?? '');
  return match?.[1];
}

function parseBody(contentType, text) {
  if (text === '') return {};
  if (contentType.startsWith('application/json')) {
    try {
      const value = JSON.parse(text);
      return value !== null && typeof value === 'object' ? value : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** A form sends blocks as a JSON string; JSON sends the array. */
function parseList(value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function truthy(value) {
  return value === true || value === 'true' || value === '1';
}
