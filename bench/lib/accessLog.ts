// A synthetic access log in the exact format Nginx writes (log_format
// bluegreen), with the traffic a watcher sees in a bad week: healthy blue
// traffic with 404s, single failed requests retried on green followed by the 5 s
// blue is marked down (max_fails=1 fail_timeout=5s), longer blue outages, spells
// where both pools fail (client 5xx: an error-rate alert), Nginx's own 502s, and
// ~1% of lines that are not clean log lines (cut short, a foreign format, NUL
// runs left by a copy-truncate, binary junk).
//
// Held as chunks of one-byte strings, each ending with a newline, the way the
// source stage reads the file in chunks: the input costs about its size in bytes
// and each line is a slice of its chunk. Nginx escapes every byte outside
// 0x20..0x7E, so its lines are ASCII; junk lines use bytes 0x00..0xFF as latin1
// characters, which keeps them one byte each (the source would decode invalid
// UTF-8 as U+FFFD; such a line is malformed either way).
import { rng } from '../../testkit/rng.js';

export interface AccessLog {
  chunks: string[];
  lines: number;
  bytes: number;
  /** Lines the generator meant to be unparseable (some cut-short lines still parse). */
  junkLines: number;
}

const START = Date.UTC(2026, 10, 22);
const CHUNK_LINES = 1_000;
const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';
const DOWN_LINES = 1_000; // blue's fail_timeout (5 s) at 200 requests/s
const PATHS = [
  '/version',
  '/healthz',
  '/api/orders',
  '/api/orders/42',
  '/api/orders?page=3&sort=desc',
  '/static/app.3f9c2a.js',
  '/search?q=caf\\xC3\\xA9',
  '/users/\\x22quoted\\x22/profile',
];

type Attempt = [status: number, addr: string];

export function generateAccessLog(count: number, seed: number): AccessLog {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const hex = () => Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  const seconds = (max: number) => (random() * max).toFixed(3);

  let blueDownUntil = -1; // line index until which Nginx sends everything to green
  let blueFailsUntil = -1; // outage: blue fails every request tried on it
  let bothFailUntil = -1; // spell of client-visible 5xx

  function line(i: number): string {
    if (i % 200_000 === 100_000) blueFailsUntil = i + 10 * DOWN_LINES;
    if (i % 250_000 === 180_000) bothFailUntil = i + 400;

    const time = new Date(START + i * 5 + Math.floor(random() * 5)).toISOString().replace('Z', '+00:00');
    const method = random() < 0.85 ? 'GET' : pick(['POST', 'PUT', 'DELETE']);
    const head = `time=${time} rid=${hex()}${hex()}${hex()}${hex()} method=${method} path="${pick(PATHS)}"`;
    const dice = random();

    let status: number;
    let pool: string;
    let attempts: Attempt[];
    if (i < bothFailUntil && dice < 0.2) {
      [status, pool, attempts] = [500, 'green', [[500, BLUE], [500, GREEN]]];
    } else if (i < blueDownUntil) {
      [status, pool, attempts] = [200, 'green', [[200, GREEN]]];
    } else if (i < blueFailsUntil || dice < 0.0003) {
      // The one request that finds blue failing; the retry on green answers.
      blueDownUntil = i + DOWN_LINES;
      [status, pool, attempts] = [200, 'green', [[random() < 0.7 ? 500 : 504, BLUE], [200, GREEN]]];
    } else if (dice < 0.001) {
      return `${head} status=502 pool="-" release="-" upstream_status="502" upstream_addr="app_pools" request_time=0.000 upstream_response_time="-" bytes=157`;
    } else {
      status = dice < 0.04 ? 404 : 200;
      [pool, attempts] = ['blue', [[status, BLUE]]];
    }
    const times = attempts.map(([s]) => (s === 504 ? '1.501' : seconds(0.02)));
    return (
      `${head} status=${status} pool="${pool}" release="${pool}-v1.4.2" ` +
      `upstream_status="${attempts.map(([s]) => s).join(', ')}" upstream_addr="${attempts.map(([, a]) => a).join(', ')}" ` +
      `request_time=${seconds(0.03)} upstream_response_time="${times.join(', ')}" bytes=${100 + Math.floor(random() * 4000)}`
    );
  }

  function junk(good: string): string {
    switch (Math.floor(random() * 4)) {
      case 0: // a writer killed mid-line
        return good.slice(0, 1 + Math.floor(random() * (good.length - 1)));
      case 1: // another program's format in the same file
        return `172.18.0.1 - - [22/Nov/2026:00:00:00 +0000] "GET /version HTTP/1.1" 200 98 "-" "curl/8.5.0"`;
      case 2: // the NUL run a copy-truncate leaves, then a line
        return `${'\0'.repeat(1 + Math.floor(random() * 300))}${good}`.replace('status=', 'status=-');
      default: // binary junk
        return String.fromCharCode(...Array.from({ length: 40 + Math.floor(random() * 400) }, () => 0x0b + Math.floor(random() * 0xf5)));
    }
  }

  const chunks: string[] = [];
  let bytes = 0;
  let junkLines = 0;
  for (let first = 0; first < count; first += CHUNK_LINES) {
    const lines: string[] = [];
    for (let i = first; i < Math.min(count, first + CHUNK_LINES); i++) {
      const good = line(i);
      const bad = random() < 0.01;
      if (bad) junkLines++;
      lines.push(bad ? junk(good) : good);
    }
    // join, not `${…}\n`: a concatenation is a rope that V8 flattens into a
    // second copy on the first indexOf, doubling the input until a full GC.
    lines.push('');
    const chunk = lines.join('\n');
    bytes += chunk.length;
    chunks.push(chunk);
  }
  return { chunks, lines: count, bytes, junkLines };
}

/** Calls `onLine` for every line of `log`, as the source stage hands them on. */
export function forEachLine(log: AccessLog, onLine: (line: string) => void): void {
  for (const chunk of log.chunks) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      onLine(chunk.slice(start, nl));
      start = nl + 1;
    }
  }
}

const ADDRS: Record<string, string> = { blue: BLUE, green: GREEN };

/** A plain 200 served by `pool` at `at` (epoch ms), as Nginx would log it. */
export function servedLine(at: number, requestId: string, path: string, pool: 'blue' | 'green'): string {
  return loggedLine(at, requestId, path, pool, [[200, ADDRS[pool] as string]]);
}

/** A request blue answered 500 and Nginx retried on green, which answered 200: a failover, as Nginx would log it. */
export function failedOverLine(at: number, requestId: string, path: string): string {
  return loggedLine(at, requestId, path, 'green', [[500, BLUE], [200, GREEN]]);
}

function loggedLine(at: number, requestId: string, path: string, pool: 'blue' | 'green', attempts: Attempt[]): string {
  const time = new Date(at).toISOString().replace('Z', '+00:00');
  return (
    `time=${time} rid=${requestId} method=GET path="${path}" status=200 pool="${pool}" release="${pool}-v1" ` +
    `upstream_status="${attempts.map(([s]) => s).join(', ')}" upstream_addr="${attempts.map(([, a]) => a).join(', ')}" ` +
    `request_time=0.001 upstream_response_time="${attempts.map(() => '0.001').join(', ')}" bytes=86`
  );
}
