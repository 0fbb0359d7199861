// Types for slackApi.mjs, the stand-in for Slack's Web API (plain JavaScript so the receiver container runs it as is).
export interface SlackApiFault {
  /** 429 answers with Retry-After `retryAfter` seconds (default 1); another status answers it with an error body. */
  status?: number;
  retryAfter?: number;
  /** An HTTP 200 `ok: false` answer with this error. */
  error?: string;
}

export interface StandInMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: object[];
  attachments?: object[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  /** How many times chat.update changed it. */
  edits: number;
  /** What it showed before each edit, oldest first. */
  versions: { text: string; blocks?: object[]; attachments?: object[] }[];
}

/** A top-level message as the channel shows it, with its thread's replies. */
export type ChannelMessage = StandInMessage & { replies: StandInMessage[] };

export interface StandInCall {
  method: string;
  args: Record<string, unknown>;
  /** The token's first characters, never all of it. */
  token?: string;
  status: number;
  answer: { ok: boolean; error?: string; ts?: string; channel?: string; [key: string]: unknown };
  at: number;
}

export interface SlackApi {
  call(path: string, headers: Record<string, string | string[] | undefined>, body: string): { status: number; headers?: Record<string, string>; body: object };
  fail(method: string, fault: SlackApiFault): void;
  remove(channel: string, ts: string): boolean;
  calls(): StandInCall[];
  messages(): ChannelMessage[];
  reset(): void;
}

export function createSlackApi(options?: { tokens?: string[]; channels?: string[] }): SlackApi;
export function permalink(channel: string, ts: string): string;
