// Synthetic access-log lines in Nginx's `bluegreen` format
// (nginx/templates/default.conf.template), shared by the benchmarks so each
// measures the same traffic.
import { rng } from '../../test/support/rng.js';

/** The first generated line's time, epoch ms; each next line is 5 ms later. */
export const START = Date.UTC(2026, 10, 22);

const BLUE = '172.18.0.3:3000';
const GREEN = '172.18.0.4:3000';
const PATHS = ['/version', '/healthz', '/api/orders', '/api/orders/42', '/static/app.js', '/search?q=caf\\xC3\\xA9'];

/**
 * Mostly blue 200s; ~2% 5xx on blue retried on green, ~0.2% timeouts, ~0.3%
 * Nginx 502s, some 404s, and a 300-line blue outage every 25,000 lines
 * (green serves: a failover, then a recovery).
 */
export function generate(count: number, seed: number): string[] {
  const random = rng(seed);
  const hex = () => Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const time = new Date(START + i * 5).toISOString().replace('Z', '+00:00');
    const method = random() < 0.8 ? 'GET' : 'POST';
    const path = PATHS[Math.floor(random() * PATHS.length)] ?? '/';
    const t1 = (random() * 0.01).toFixed(3);
    const t2 = (random() * 0.01).toFixed(3);
    const head = `time=${time} rid=${hex()}${hex()}${hex()}${hex()} method=${method} path="${path}"`;
    const outage = i % 25_000 >= 20_000 && i % 25_000 < 20_300;
    const dice = random();
    let rest: string;
    if (outage || dice < 0.02) {
      rest = `status=200 pool="green" release="green-v1" upstream_status="500, 200" upstream_addr="${BLUE}, ${GREEN}" request_time=${t1} upstream_response_time="${t2}, ${t1}"`;
    } else if (dice < 0.022) {
      rest = `status=200 pool="green" release="green-v1" upstream_status="504, 200" upstream_addr="${BLUE}, ${GREEN}" request_time=2.${t1.slice(2)} upstream_response_time="2.000, ${t1}"`;
    } else if (dice < 0.025) {
      rest = `status=502 pool="-" release="-" upstream_status="502" upstream_addr="app_pools" request_time=0.000 upstream_response_time="-"`;
    } else {
      const status = dice < 0.05 ? 404 : 200;
      rest = `status=${status} pool="blue" release="blue-v1" upstream_status="${status}" upstream_addr="${BLUE}" request_time=${t1} upstream_response_time="${t1}"`;
    }
    lines.push(`${head} ${rest} bytes=${100 + Math.floor(random() * 2000)}`);
  }
  // Split from one text the way the tailer splits a read chunk, so the lines
  // have the same string representation as in production.
  return lines.join('\n').split('\n');
}

const ADDRS: Record<string, string> = { blue: BLUE, green: GREEN };

/** A plain 200 served by `pool` at `at` (epoch ms), as Nginx would log it. */
export function servedLine(at: number, requestId: string, path: string, pool: 'blue' | 'green'): string {
  const time = new Date(at).toISOString().replace('Z', '+00:00');
  return (
    `time=${time} rid=${requestId} method=GET path="${path}" status=200 pool="${pool}" release="${pool}-v1" ` +
    `upstream_status="200" upstream_addr="${ADDRS[pool]}" request_time=0.001 upstream_response_time="0.001" bytes=86`
  );
}
