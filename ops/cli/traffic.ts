// make traffic [RPS=5] [DURATION=<seconds>]: steady requests through Nginx's
// public port, a line a second with how many each pool answered and how many
// failed, until Ctrl-C or DURATION; then the totals. What a client sees
// while you drill: a failover shows as green's count rising, its end as
// blue's coming back; and conditions resolve only while traffic flows.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Tally {
  blue: number;
  green: number;
  failed: number;
}

/** What one answer counts as: a 200 from a pool (its X-App-Pool), else a failure. */
export function classify(status: number | undefined, pool: string | null | undefined): keyof Tally {
  if (status === 200 && (pool === 'blue' || pool === 'green')) return pool;
  return 'failed';
}

async function one(url: string): Promise<keyof Tally> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return classify(res.status, res.headers.get('x-app-pool'));
  } catch {
    return 'failed';
  }
}

const clock = () => new Date().toISOString().slice(11, 19);

/** Runs until `seconds` (0: until Ctrl-C or SIGTERM); exit 0 either way, after the totals. */
export async function traffic(url: string, rps: number, seconds: number, out: (line: string) => void = console.log): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const total: Tally = { blue: 0, green: 0, failed: 0 };
  let elapsed = 0;
  out(`traffic: ${rps} requests/s to ${url}${seconds > 0 ? ` for ${seconds} s` : ', Ctrl-C to stop'}`);
  try {
    while (!stop.signal.aborted && (seconds === 0 || elapsed < seconds)) {
      const tally: Tally = { blue: 0, green: 0, failed: 0 };
      for (let i = 0; i < rps && !stop.signal.aborted; i++) {
        tally[await one(url)]++;
        await sleep(1_000 / rps, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      if (stop.signal.aborted) break;
      elapsed++;
      for (const k of ['blue', 'green', 'failed'] as const) total[k] += tally[k];
      out(`${clock()}  blue ${tally.blue}  green ${tally.green}  failed ${tally.failed}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out(`traffic: ${elapsed} s: blue ${total.blue}, green ${total.green}, failed ${total.failed}`);
  return 0;
}
