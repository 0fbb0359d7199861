// Alertmanager's HTTP API v2 at the edge: the URL a call goes to (credentials
// in a URL become basic auth) and the silences `make maintenance-on/off` set.
import type { PostableSilence } from './alertmanagerAlert.js';
import { describeError, httpCall } from './http.js';
import { REASON_SAMPLE } from './retry.js';

/** `base` + `path`, without the credentials a URL may carry (sent as basic auth instead). */
export function endpoint(base: URL, path: string): { url: URL; headers: Record<string, string> } {
  const url = new URL(base.href);
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return { url, headers };
}

export type SilenceResult = { ok: true; id: string } | { ok: false; reason: string };

/** POST /api/v2/silences: the new silence's id, or why there is none. */
export async function createSilence(baseUrl: string, silence: PostableSilence, timeoutMs: number): Promise<SilenceResult> {
  try {
    const { url, headers } = endpoint(new URL(baseUrl), '/api/v2/silences');
    const { status, body: text } = await httpCall(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(silence),
      timeoutMs,
    });
    if (status < 200 || status >= 300) return { ok: false, reason: `HTTP ${status}: ${text.slice(0, REASON_SAMPLE)}` };
    const id = (JSON.parse(text) as { silenceID?: unknown }).silenceID;
    return typeof id === 'string' && id !== '' ? { ok: true, id } : { ok: false, reason: `no silenceID in the answer: ${text.slice(0, REASON_SAMPLE)}` };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

/** DELETE /api/v2/silence/{id}; a silence already gone (404) counts as expired. */
export async function expireSilence(baseUrl: string, id: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { url, headers } = endpoint(new URL(baseUrl), `/api/v2/silence/${encodeURIComponent(id)}`);
    const { status, body: text } = await httpCall(url, { method: 'DELETE', headers, timeoutMs });
    if ((status >= 200 && status < 300) || status === 404) return { ok: true };
    return { ok: false, reason: `HTTP ${status}: ${text.slice(0, REASON_SAMPLE)}` };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

/** scheme://host of a URL, for messages: never its credentials. */
export function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
