// Where each known key's value lies in a line, as the general scanner finds
// it: a record keeps these to decode the fields it did not decode up front.

/** The keys the watcher knows, in `log_format bluegreen` order. */
export const TIME = 0;
export const RID = 1;
export const METHOD = 2;
export const PATH = 3;
export const STATUS = 4;
export const POOL = 5;
export const RELEASE = 6;
export const UPSTREAM_STATUS = 7;
export const UPSTREAM_ADDR = 8;
export const REQUEST_TIME = 9;
export const UPSTREAM_RESPONSE_TIME = 10;
const KEY_COUNT = 11;

export const KEY_FIELDS: ReadonlyMap<string, number> = new Map([
  ['time', TIME],
  ['rid', RID],
  ['method', METHOD],
  ['path', PATH],
  ['status', STATUS],
  ['pool', POOL],
  ['release', RELEASE],
  ['upstream_status', UPSTREAM_STATUS],
  ['upstream_addr', UPSTREAM_ADDR],
  ['request_time', REQUEST_TIME],
  ['upstream_response_time', UPSTREAM_RESPONSE_TIME],
]);

/**
 * For field f, the raw value (between the quotes, if quoted) is
 * line.slice(spans[2f], spans[2f + 1]); spans[2f] is -1 when the key is absent.
 */
export type Spans = number[];

export function noSpans(): Spans {
  return new Array<number>(2 * KEY_COUNT).fill(-1);
}
