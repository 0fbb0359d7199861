// Alertmanager's HTTP API v2 at the edge: the URL a call goes to (credentials
// in a URL become basic auth) and the silences `make maintenance-on/off` set.
import { request } from 'undici';
import type { PostableSilence } from './alertmanagerAlert.js';

/** How much of an unexpected answer a reason quotes. */
export const RESPONSE_SAMPLE = 200;

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
    const res = await request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(silence),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) return { ok: false, reason: `HTTP ${res.statusCode}: ${text.slice(0, RESPONSE_SAMPLE)}` };
    const id = (JSON.parse(text) as { silenceID?: unknown }).silenceID;
    return typeof id === 'string' && id !== '' ? { ok: true, id } : { ok: false, reason: `no silenceID in the answer: ${text.slice(0, RESPONSE_SAMPLE)}` };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

/** DELETE /api/v2/silence/{id}; a silence already gone (404) counts as expired. */
export async function expireSilence(baseUrl: string, id: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { url, headers } = endpoint(new URL(baseUrl), `/api/v2/silence/${encodeURIComponent(id)}`);
    const res = await request(url, { method: 'DELETE', headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    if ((res.statusCode >= 200 && res.statusCode < 300) || res.statusCode === 404) return { ok: true };
    return { ok: false, reason: `HTTP ${res.statusCode}: ${text.slice(0, RESPONSE_SAMPLE)}` };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

/** scheme://host of a URL, for messages: never its credentials. */
export function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return `${err.name}: ${err.message}${cause}${code && !err.message.includes(code) && !cause.includes(code) ? ` [${code}]` : ''}`;
}
