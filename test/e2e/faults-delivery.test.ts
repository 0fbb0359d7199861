// Slack misbehaving, on the real Compose stack: the test's webhook receiver
// (test/e2e/receiver/receiver.mjs) told to refuse every post for longer than
// the watcher retries one (SLACK_RETRY_FOR_SEC), and to answer 500 with a
// 200 MiB body. Slack's latest word must still become the truth once it takes
// messages again, and no answer may cost the watcher its memory.
// One stack; a light client through Nginx throughout, since a condition
// resolves only once the pool is seen serving steadily.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { ALL_CLEAR, allMessages, settled, waitForStats, watcherStats, type AlertMessage } from './support/incidents.js';
import {
  PORTS,
  chaos,
  containerId,
  docker,
  receivedPosts,
  receiverState,
  setReceiver,
  sleep,
  startStack,
  waitForAlert,
  waitForServing,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e delivery faults');

const RETRY_FOR_SEC = 5;
const HOLD_SEC = 3;
// How much longer than one message's retries the webhook keeps refusing: the
// give-up has happened, and a message sent after it has been refused too.
const REFUSE_MARGIN_SEC = 3;
const MIB = 1024 * 1024;
const HUGE_BODY_BYTES = 200 * MIB;
const MEMORY_BOUND_MIB = 200;

const RE_OPEN = String.raw`\(open (?:\d+ s|\d+ min(?: \d+ s)?)\)`;
const RECOVERED = new RegExp(String.raw`^Recovered: pool changed green → blue, steady for ${HOLD_SEC} s ${RE_OPEN}$`);
const SUMMARY_ALL_CLEAR = 'Maintenance ended: nothing is open';
// Any headline that tells Slack the failover is (still) open.
const FAILOVER_OPEN = /^Failover (detected|ongoing|worse|better|update|still open)|^Maintenance ended: \d+ incidents? open/;

async function chaosOk(pool: 'blue' | 'green', query: string): Promise<void> {
  const res = await chaos(pool, query);
  if (res.status !== 200) throw new Error(`chaos ${query} on ${pool}: ${res.status} ${await res.text()}`);
}

/** The failover's all-clear: the recovery, or the maintenance summary that lists it resolved. */
function isFailoverAllClear(m: AlertMessage): boolean {
  if (RECOVERED.test(m.text)) return true;
  return m.text === SUMMARY_ALL_CLEAR && m.blocksText.includes('Resolved during maintenance: Failover');
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The watcher's resident memory from its /metrics (prom-client's process_resident_memory_bytes), in MiB. */
async function residentMib(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${PORTS.watcher}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (match === null) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(match[1]) / MIB;
}

/** A container's memory as `docker stats` reports it (page cache excluded), in MiB. */
async function dockerMib(id: string): Promise<number> {
  const usage = (await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', id)).trim().split(' / ')[0] ?? '';
  const value = Number.parseFloat(usage);
  if (!Number.isFinite(value)) throw new Error(`docker stats: unreadable memory "${usage}"`);
  return usage.endsWith('GiB') ? value * 1024 : usage.endsWith('KiB') ? value / 1024 : usage.endsWith('MiB') ? value : value / MIB;
}

describe.skipIf(!enabled)('alert delivery when Slack misbehaves, on the Compose stack', () => {
  let stack: Stack;
  let stopTraffic = false;
  let traffic: Promise<void> | undefined;
  const startedAt = Date.now();

  beforeAll(async () => {
    stack = await startStack('delivery', {
      ALERT_COOLDOWN_SEC: '0',
      SLACK_RETRY_FOR_SEC: String(RETRY_FOR_SEC),
      RECOVERY_HOLD_SEC: String(HOLD_SEC),
      // Failovers only: the few attempts blue fails must not open an error-rate incident with its own messages.
      ERROR_RATE_THRESHOLD: '50',
    });
    traffic = (async () => {
      while (!stopTraffic) {
        await fetch(`http://127.0.0.1:${PORTS.nginx}/version`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5_000) })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        await sleep(200);
      }
    })();
  });

  afterEach(async () => {
    // A failed case leaves neither a misbehaving receiver nor a failing pool to the next.
    await setReceiver({ status: 200 });
    await chaosOk('blue', 'stop');
    if ((await watcherStats()).maintenance) await stack.make('maintenance-off');
  });

  afterAll(async () => {
    stopTraffic = true;
    await traffic;
    await stack?.down();
    console.log(`[e2e] delivery suite: ${seconds(Date.now() - startedAt)} s wall`);
  });

  it('maintenance ending while the webhook answers 503 for longer than SLACK_RETRY_FOR_SEC: once it answers 200 again, the latest accepted message is the all-clear', async () => {
    const t0 = Date.now();
    await waitForStats((s) => settled(s) && !s.maintenance, 30_000, 'nothing open before the case');
    await waitForServing('blue', 15_000);

    await chaosOk('blue', 'start?mode=error');
    await waitForAlert('Failover detected: pool changed blue → green', t0, 10_000);
    const on = await stack.make('maintenance-on');
    expect(on.code, on.stderr).toBe(0);
    await waitForStats((s) => s.maintenance, 5_000, 'maintenance on');

    await setReceiver({ status: 503 });
    const refusingFrom = Date.now();
    const healedAt = Date.now();
    await chaosOk('blue', 'stop');
    // Blue back after Nginx's fail_timeout and steady for the hold: resolved, and held back by maintenance.
    await waitForStats(
      (s) => s.recentAlerts.some((a) => a.kind === 'failover' && a.message === 'resolved' && a.decision === 'suppress' && Date.parse(a.raisedAt) >= healedAt),
      30_000,
      'the failover resolved under maintenance',
    );

    const offAt = Date.now();
    const off = await stack.make('maintenance-off');
    expect(off.code, off.stderr).toBe(0);
    const gaveUp = await waitForStats(
      (s) => s.recentAlerts.some((a) => a.kind === 'maintenance_ended' && a.outcome === 'failed' && Date.parse(a.raisedAt) >= offAt - 1_000),
      (RETRY_FOR_SEC + 20) * 1000,
      'the maintenance summary given up',
    );
    const summaryGaveUpAt = Date.parse(gaveUp.recentAlerts.find((a) => a.kind === 'maintenance_ended' && a.outcome === 'failed')?.settledAt ?? '');
    // Past the give-up: what the watcher sends in the summary's place is refused as well.
    await sleep(Math.max(0, offAt + (RETRY_FOR_SEC + REFUSE_MARGIN_SEC) * 1000 - Date.now()));

    const acceptingFrom = Date.now();
    await setReceiver({ status: 200 });
    const refusedFor = acceptingFrom - refusingFrom;
    await waitForStats(settled, 30_000, 'everything delivered once the webhook takes messages again');

    const posts = (await receivedPosts()).filter((p) => p.receivedAt >= refusingFrom);
    const refused = posts.filter((p) => !p.accepted);
    const summaryRefusals = refused.filter((p) => p.body.text === SUMMARY_ALL_CLEAR);
    const all = await allMessages();
    const after = all.filter((m) => m.at >= acceptingFrom);
    console.log(
      `[e2e] delivery (a): webhook answered 503 for ${seconds(refusedFor)} s (SLACK_RETRY_FOR_SEC ${RETRY_FOR_SEC}), from maintenance-off ${seconds(acceptingFrom - offAt)} s; ` +
        `summary refused ${summaryRefusals.length} times, given up ${seconds(summaryGaveUpAt - offAt)} s after maintenance-off; ` +
        `${refused.length} posts refused in all ${JSON.stringify([...new Set(refused.map((p) => p.body.text))])}; ` +
        `accepted after the 200: ${JSON.stringify(after.map((m) => `+${seconds(m.at - acceptingFrom)} s ${m.text}`))}; case ${seconds(Date.now() - t0)} s`,
    );
    // The scenario happened: nothing got through the 503, and the summary was posted and retried.
    expect(posts.filter((p) => p.accepted && p.receivedAt < acceptingFrom)).toEqual([]);
    expect(summaryRefusals.length).toBeGreaterThanOrEqual(2);
    expect(refusedFor).toBeGreaterThan((RETRY_FOR_SEC + REFUSE_MARGIN_SEC) * 1000);

    expect(after.length, 'a message once the webhook takes them again').toBeGreaterThan(0);
    const firstAllClear = after.findIndex(isFailoverAllClear);
    expect(firstAllClear, `an all-clear among ${JSON.stringify(after.map((m) => m.text))}`).toBeGreaterThanOrEqual(0);
    expect(after.slice(firstAllClear).filter((m) => FAILOVER_OPEN.test(m.text))).toEqual([]);
    const last = all.at(-1)!;
    expect(isFailoverAllClear(last), `the latest accepted message: ${last.text}`).toBe(true);
  });

  it('a receiver that answers 500 with a 200 MiB body: the watcher keeps running under 200 MiB', async () => {
    const t0 = Date.now();
    await waitForStats(settled, 30_000, 'nothing open before the case');
    await waitForServing('blue', 15_000);
    const id = await containerId(stack, 'alert_watcher');
    const startedBefore = (await docker('inspect', '-f', '{{.State.StartedAt}}', id)).trim();
    const baseline = { rss: await residentMib(), docker: await dockerMib(id) };
    const receiverBefore = await setReceiver({ status: 500, bodyBytes: HUGE_BODY_BYTES });

    const rss: number[] = [];
    const dockerSamples: number[] = [];
    let sampling = true;
    // /metrics answers in milliseconds; `docker stats --no-stream` takes a second or two a sample.
    const samplers = Promise.all([
      (async () => {
        while (sampling) {
          rss.push(await residentMib());
          await sleep(250);
        }
      })(),
      (async () => {
        while (sampling) dockerSamples.push(await dockerMib(id));
      })(),
    ]);
    const stopSampling = async () => {
      sampling = false;
      await samplers;
    };
    try {
      // Two failovers and two recoveries over 20 s: each message refused, retried for
      // SLACK_RETRY_FOR_SEC, given up, and the truth sent again, every answer 200 MiB.
      for (let round = 0; round < 2; round++) {
        await chaosOk('blue', 'start?mode=error');
        await sleep(5_000);
        await chaosOk('blue', 'stop');
        await sleep(5_000);
      }
    } finally {
      await stopSampling();
    }
    const receiverAfter = await receiverState();
    const started = receiverAfter.huge.started - receiverBefore.huge.started;
    const healthz = await fetch(`http://127.0.0.1:${PORTS.watcher}/healthz`, { signal: AbortSignal.timeout(5_000) });
    const inspect = (await docker('inspect', '-f', '{{.State.Running}} {{.State.StartedAt}} {{.RestartCount}}', id)).trim();

    const acceptingFrom = Date.now();
    await setReceiver({ status: 200 });
    await waitForStats(settled, 60_000, 'everything delivered once the webhook takes messages again');
    const after = (await allMessages()).filter((m) => m.at >= acceptingFrom);

    const max = (xs: number[]) => Math.max(...xs);
    console.log(
      `[e2e] delivery (b): ${started} answers of ${HUGE_BODY_BYTES / MIB} MiB started (${receiverAfter.huge.finished - receiverBefore.huge.finished} written to the end, ` +
        `at most ${(receiverAfter.huge.maxBytesWritten / MIB).toFixed(1)} MiB of one handed to the socket); watcher memory: baseline RSS ${baseline.rss.toFixed(1)} MiB / docker ${baseline.docker.toFixed(1)} MiB, ` +
        `max RSS ${max(rss).toFixed(1)} MiB (${rss.length} samples from /metrics), max docker ${max(dockerSamples).toFixed(1)} MiB (${dockerSamples.length} samples); ` +
        `after the 200: ${JSON.stringify(after.map((m) => `+${seconds(m.at - acceptingFrom)} s ${m.text}`))}; case ${seconds(Date.now() - t0)} s`,
    );
    // Several posts and retries got the huge answer, and the watcher read none of them to its end.
    expect(started).toBeGreaterThanOrEqual(5);
    expect(receiverAfter.huge.finished).toBe(receiverBefore.huge.finished);
    expect(rss.length).toBeGreaterThanOrEqual(20);
    expect(dockerSamples.length).toBeGreaterThanOrEqual(3);
    expect(max(rss)).toBeLessThan(MEMORY_BOUND_MIB);
    expect(max(dockerSamples)).toBeLessThan(MEMORY_BOUND_MIB);
    expect(inspect).toBe(`true ${startedBefore} 0`);
    expect(healthz.status).toBe(200);

    // It delivers again, and what it says last is true: blue serves, the failover is over.
    expect(after.length, 'a message once the webhook takes them again').toBeGreaterThan(0);
    const last = after.at(-1)!;
    expect(last.key).toBe('failover:blue');
    expect(last.text).toMatch(RECOVERED);
    expect(ALL_CLEAR.test(last.headline)).toBe(true);
  });
});
