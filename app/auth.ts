// The optional CHAOS_TOKEN guard of /chaos/*. Pure: server.ts decides where it applies.
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when `authorization` (the raw header) carries `token` as a bearer token.
 * Both sides are hashed first, so the comparison takes the same time whatever
 * the length or the first differing byte of the guess.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = BEARER.exec(authorization ?? '')?.[1];
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}
