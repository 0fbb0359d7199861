// The general reader: any order of key=value pairs, quoted or not, separated by
// any whitespace (space, tab, CR, LF), unknown keys and bare words skipped, the
// last of a repeated key winning. A single forward scan, so a runaway line
// costs time proportional to its length. Runs of characters are skipped by
// regex searches, several times faster per character than a charCodeAt loop.
import { KEY_FIELDS, noSpans, type Spans } from './spans.js';

const QUOTE = 0x22;
const EQUALS = 0x3d;
const NOT_SPACE = /[^ \t\r\n]/g;
const KEY_END = /[= \t\r\n]/g;
const SPACE = /[ \t\r\n]/g;

export interface Scan {
  spans: Spans;
  /** key=value pairs seen, known or not. */
  pairs: number;
  /** Set when a quoted value never closes: the scan stopped at its key. */
  unterminatedKey?: string;
}

export function scanSpans(line: string): Scan {
  const spans = noSpans();
  const n = line.length;
  let pairs = 0;
  let i = 0;
  while (i < n) {
    const keyStart = next(NOT_SPACE, line, i);
    i = next(KEY_END, line, keyStart);
    // A bare word carries no value: skip it rather than reject the line.
    if (i >= n || line.charCodeAt(i) !== EQUALS) continue;
    const keyEnd = i;
    i++;

    let start: number;
    let end: number;
    if (i < n && line.charCodeAt(i) === QUOTE) {
      // Nginx writes `"` inside a value as \x22, so the next quote closes it.
      start = i + 1;
      end = line.indexOf('"', start);
      if (end < 0) return { spans, pairs, unterminatedKey: line.slice(keyStart, keyEnd) };
      i = end + 1;
    } else {
      start = i;
      i = next(SPACE, line, i);
      end = i;
    }
    if (keyEnd === keyStart) continue;
    pairs++;
    const field = KEY_FIELDS.get(line.slice(keyStart, keyEnd));
    if (field === undefined) continue;
    spans[2 * field] = start;
    spans[2 * field + 1] = end;
  }
  return { spans, pairs };
}

/** Index of the first character of `search`'s class at or after `from`; the line's length if none. */
function next(search: RegExp, line: string, from: number): number {
  search.lastIndex = from;
  return search.test(line) ? search.lastIndex - 1 : line.length;
}
