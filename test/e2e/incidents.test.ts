// Incidents on the real Compose stack: the scenarios of
// test/watcher/core/incidents.test.ts, caused for real on the pools' direct
// ports under 20 requests/s through Nginx, with the local receiver standing in
// for Slack. One stack; the scenarios run in order, each once the previous one
// is fully resolved (nothing open, nothing queued). Each checks that clients
// saw no failure that failover should hide, the messages Slack got, in order,
// and the invariant (support/incidents.ts): never an all-clear as the latest
// word while something fails, and an all-clear as the latest word soon after
// everything is healthy.
//
// Blue's failover condition keeps its pool changes for 10 minutes (flap
// detection), across incidents: (a)'s changes make (b) flap early, and (b)'s
// make every later failover of blue "flapping" from its first message.
import { chmodSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import {
  allMessages,
  describeMessages,
  invariantViolations,
  matchesSequence,
  settled,
  waitForStats,
  watcherStats,
  type AlertMessage,
  type Expected,
  type Fault,
} from './support/incidents.js';
import {
  PORTS,
  chaos,
  switchedPool,
  getVersion,
  sleep,
  startLoad,
  startStack,
  waitForServing,
  type Load,
  type Sample,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e incidents');

const COOLDOWN_SEC = 20;
const HOLD_SEC = 5;
const PLANNED_SWITCH_TTL_SEC = 120;
// Nginx's fail_timeout: a failed primary gets a request again this long after its last failure.
const FAIL_TIMEOUT_SEC = 5;
const LOAD_PER_SECOND = 20;
// 10 s of requests; a threshold no failover reaches (each costs a request or a few
// every fail_timeout) and any outage passes within seconds.
const WINDOW_SIZE = 200;
const THRESHOLD_PERCENT = 20;
// A functional deadline for a failure to reach Slack, not a latency bar.
const DETECT_MS = 5_000;
// After the last fault ends: the primary back within fail_timeout, steady for the hold, any cooldown left, and slack.
const ALL_CLEAR_WITHIN_MS = (COOLDOWN_SEC + HOLD_SEC + FAIL_TIMEOUT_SEC + 5) * 1000;
const SCENARIO_TIMEOUT_MS = 180_000;

const OPEN = String.raw`\(open (?:\d+ s|\d+ min(?: \d+ s)?)\)`;
const re = (source: string) => new RegExp(`^${source}$`);
const FAILOVER = re('Failover detected: pool changed blue → green');
const RECOVERED = re(String.raw`Recovered: pool changed green → blue, steady for ${HOLD_SEC} s ${OPEN}`);
const FLAPPING_UPDATE = re(String.raw`Failover ongoing: blue flapping \(\d+ pool changes in 10 min\), (blue|green) serving now ${OPEN}`);
const OUTAGE = re('Outage: no pool could answer; clients get 503 errors');
const OUTAGE_RESOLVED = re(String.raw`Outage resolved: requests succeed again, steady for ${HOLD_SEC} s ${OPEN}`);
const HIGH_ERROR_RATE = re(String.raw`High error rate: \d+(\.\d)?% of the last ${WINDOW_SIZE} requests failed \(threshold ${THRESHOLD_PERCENT}%\)`);
// After an outage the window's share falls below the threshold before half of it:
// the level drops to "masked", worded as hidden by retries although every one of
// those errors was a 503 a client got. Tolerated here (see expectOutageMessages).
// Never after an outage: every error in the window reached a client.
const ERROR_RATE_MASKED = /retries hide them from clients/;
const ERROR_RATE_RESOLVED = re(String.raw`Error rate resolved: \d+(\.\d)?% of the last ${WINDOW_SIZE} requests \(threshold ${THRESHOLD_PERCENT}%\) ${OPEN}`);

async function chaosOk(pool: 'blue' | 'green', query: string): Promise<void> {
  const res = await chaos(pool, query);
  if (res.status !== 200) throw new Error(`chaos ${query} on ${pool}: ${res.status} ${await res.text()}`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One scenario: steady load from its start until Slack heard every all-clear, and the faults it caused. */
class Scenario {
  readonly start = Date.now();
  readonly faults: Fault[] = [];
  private readonly loads: Load[] = [startLoad(LOAD_PER_SECOND)];
  private readonly samples: Sample[] = [];
  private healedAt = 0;

  constructor(readonly name: string) {}

  /** When the first fault took effect: message times are printed from here. */
  get t0(): number {
    return this.faults[0]?.from ?? this.start;
  }

  /** Applies a failure; it surely holds from when `apply` returned. */
  async fault(name: string, keys: string[], apply: () => Promise<void>): Promise<Fault> {
    await apply();
    const fault: Fault = { name, from: Date.now(), keys };
    this.faults.push(fault);
    return fault;
  }

  /** Ends a failure; it surely held until `undo` was called. */
  async heal(fault: Fault, undo: () => Promise<void>): Promise<void> {
    fault.to = Date.now();
    await undo();
    this.healedAt = Date.now();
  }

  /** Stops the load for a moment (a request of the test's own must reach Nginx first); resume() starts it again. */
  async pauseLoad(): Promise<void> {
    for (const load of this.loads.splice(0)) this.samples.push(...(await load.stop()));
  }

  resumeLoad(): void {
    this.loads.push(startLoad(LOAD_PER_SECOND));
  }

  async stopLoad(): Promise<Sample[]> {
    await this.pauseLoad();
    return this.samples;
  }

  /** Polls the receiver for this scenario's first message matching `pattern`. */
  async waitForMessage(pattern: RegExp, timeoutMs: number): Promise<AlertMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = (await allMessages()).filter((m) => m.at >= this.start);
      const found = messages.find((m) => pattern.test(m.text));
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no message matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.text))}`);
      }
      await sleep(200);
    }
  }

  /**
   * Waits until everything is resolved and Slack heard it, stops the load,
   * prints what happened and checks the invariant. Returns this scenario's
   * messages and the load's samples.
   */
  async finish(): Promise<{ messages: AlertMessage[]; samples: Sample[] }> {
    let resolved: unknown;
    try {
      await waitForStats(settled, ALL_CLEAR_WITHIN_MS + 10_000, `${this.name}: everything resolved`);
      // A second more, so a message sent after the all-clear would show.
      await sleep(1_000);
    } catch (err) {
      resolved = err;
    }
    const samples = await this.stopLoad();
    const all = await allMessages();
    const messages = all.filter((m) => m.at >= this.start);
    const non200 = samples.filter((s) => s.status !== 200);
    const statuses = [...new Set(non200.map((s) => s.status))];
    console.log(
      `[incidents] ${this.name}\n` +
        `  faults: ${this.faults.map((f) => `${f.name} +${seconds(f.from - this.t0)}..+${seconds((f.to ?? Date.now()) - this.t0)}`).join('; ')}\n` +
        `  load: ${samples.length} requests, ${non200.length} non-200 ${JSON.stringify(statuses)}, slowest ${Math.round(Math.max(...samples.map((s) => s.ms)))} ms\n` +
        `  messages (seconds after the first fault):\n${describeMessages(messages, this.t0, this.healedAt)}`,
    );
    if (resolved !== undefined) throw resolved;
    const violations = invariantViolations({
      all,
      start: this.start,
      faults: this.faults,
      graceMs: DETECT_MS,
      healthyAt: this.healedAt,
      allClearWithinMs: ALL_CLEAR_WITHIN_MS,
    });
    expect(violations, 'the invariant').toEqual([]);
    return { messages, samples };
  }
}

function expectSequence(messages: AlertMessage[], expected: Expected[]): void {
  const texts = messages.map((m) => m.text);
  const shown = expected.map((e) => (e instanceof RegExp ? String(e) : `(optional) ${String(e.optional)}`));
  expect(matchesSequence(texts, expected), `messages ${JSON.stringify(texts, null, 2)}\nexpected ${JSON.stringify(shown, null, 2)}`).toBe(true);
}

/** The level Slack last heard for an open incident, from /stats. */
async function toldLevel(key: string): Promise<string | undefined> {
  return (await watcherStats()).incidents.find((i) => i.key === key)?.told?.level;
}

describe.skipIf(!enabled)('incidents on the Compose stack', () => {
  let stack: Stack;
  let current: Scenario | undefined;

  beforeAll(async () => {
    stack = await startStack('incidents', {
      ALERT_COOLDOWN_SEC: String(COOLDOWN_SEC),
      RECOVERY_HOLD_SEC: String(HOLD_SEC),
      WINDOW_SIZE: String(WINDOW_SIZE),
      ERROR_RATE_THRESHOLD: String(THRESHOLD_PERCENT),
      PLANNED_SWITCH_TTL_SEC: String(PLANNED_SWITCH_TTL_SEC),
    });
  });

  afterEach(async () => {
    // A failed scenario leaves no load behind for the next one.
    await current?.stopLoad();
    current = undefined;
  });

  afterAll(async () => {
    await stack?.down();
  });

  /** Starts a scenario once the previous one is over: no chaos, nothing open or queued, blue serving. */
  async function begin(name: string): Promise<Scenario> {
    await chaosOk('blue', 'stop');
    await chaosOk('green', 'stop');
    if ((await watcherStats()).maintenance) expect((await stack.make('maintenance-off')).code).toBe(0);
    await waitForStats((s) => settled(s) && s.servingPool === 'blue' && s.primaryPool === 'blue' && !s.maintenance, 60_000, `before ${name}`);
    await waitForServing('blue', 15_000);
    current = new Scenario(name);
    return current;
  }

  it('(a) blue fails, heals, fails again inside the cooldown and stays down: the held-back all-clear is never sent', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(a) fails, heals, fails again inside the cooldown');
    const first = await s.fault('blue 500s', ['failover:blue'], () => chaosOk('blue', 'start?mode=error'));
    const opened = await s.waitForMessage(FAILOVER, DETECT_MS);
    await sleep(3_000);
    await s.heal(first, () => chaosOk('blue', 'stop'));
    // Blue back within fail_timeout, steady for the hold: resolved inside the cooldown, so held back.
    const cooldownEnds = opened.at + COOLDOWN_SEC * 1000;
    await waitForStats(
      (st) => st.recentAlerts.some((a) => a.kind === 'failover' && a.message === 'resolved' && a.decision === 'defer' && Date.parse(a.raisedAt) >= s.start),
      cooldownEnds - 2_000 - Date.now(),
      'the all-clear held back by the cooldown',
    );
    const second = await s.fault('blue 500s again', ['failover:blue'], () => chaosOk('blue', 'start?mode=error'));
    expect(cooldownEnds - second.from, 'the second failure starts inside the cooldown').toBeGreaterThan(1_000);
    // Down past the cooldown's end: the held-back all-clear is no longer true and must not go out.
    await sleep(cooldownEnds + 6_000 - Date.now());
    await s.heal(second, () => chaosOk('blue', 'stop'));

    const { messages, samples } = await s.finish();
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expectSequence(messages, [FAILOVER, RECOVERED]);
    // The recovery says what happened meanwhile, the held-back change included.
    expect(messages[1]?.notes.join(' ')).toMatch(/held back by the cooldown/);
  });

  it('(b) blue fails 10% of its requests for 40 s: opened at once, an update after the cooldown, no all-clear while it runs', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(b) blue fails 10% of its requests');
    const fault = await s.fault('blue 500s on 10%', ['failover:blue'], () => chaosOk('blue', 'start?mode=error&rate=0.1'));
    const opened = await s.waitForMessage(FAILOVER, DETECT_MS);
    // (a)'s four pool changes and this one: not yet the six that make it flapping.
    expect(await toldLevel('failover:blue')).toBe('failing');
    await sleep(fault.from + 40_000 - Date.now());
    await s.heal(fault, () => chaosOk('blue', 'stop'));

    const { messages, samples } = await s.finish();
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expectSequence(messages, [FAILOVER, FLAPPING_UPDATE, RECOVERED]);
    // The update waits out the cooldown (and, if blue is serving just then, its next failure).
    const updateAfter = messages[1]!.at - opened.at;
    console.log(`[incidents] (b): the update came ${seconds(updateAfter)} after the first message`);
    expect(updateAfter).toBeGreaterThanOrEqual((COOLDOWN_SEC - 1) * 1000);
    expect(updateAfter).toBeLessThan((COOLDOWN_SEC + 10) * 1000);
  });

  it('(c) blue hangs on 30% of its requests: no client error, no all-clear while it runs', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(c) blue hangs on 30% of its requests');
    const fault = await s.fault('blue hangs on 30%', ['failover:blue'], () => chaosOk('blue', 'start?mode=timeout&rate=0.3'));
    await s.waitForMessage(FAILOVER, DETECT_MS);
    // Flapping from its first message when (b)'s pool changes are still within 10 min: then no update follows.
    const level = await toldLevel('failover:blue');
    console.log(`[incidents] (c): level at the first message: ${level}`);
    await sleep(fault.from + 30_000 - Date.now());
    await s.heal(fault, () => chaosOk('blue', 'stop'));

    const { messages, samples } = await s.finish();
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expectSequence(messages, [FAILOVER, ...(level === 'flapping' ? [] : [{ optional: FLAPPING_UPDATE }]), RECOVERED]);
  });

  /** Both pools answer 500 for `ms`; green first, so no failover happens before the outage. Blue heals a second before green. */
  async function outage(s: Scenario, ms: number): Promise<AlertMessage> {
    const fault = await s.fault('both pools 500s', ['outage', 'error_rate'], async () => {
      await chaosOk('green', 'start?mode=error');
      await chaosOk('blue', 'start?mode=error');
    });
    const opened = await s.waitForMessage(OUTAGE, DETECT_MS);
    await s.waitForMessage(HIGH_ERROR_RATE, DETECT_MS);
    await sleep(fault.from + ms - Date.now());
    // Blue first: it is back (after fail_timeout) before the outage's hold ends,
    // so the end of the outage is not also a failover to green.
    await s.heal(fault, async () => {
      await chaosOk('blue', 'stop');
      await sleep(1_000);
      await chaosOk('green', 'stop');
    });
    return opened;
  }

  /**
   * The outage and the error rate, each opened once and resolved once. An
   * update of the error rate to "masked" may come between them, when the
   * cooldown has run out by the time the window's share falls under the
   * threshold; its wording ("retries hide them from clients") is untrue after
   * an outage, so it is printed when it comes.
   */
  function expectOutageMessages(messages: AlertMessage[]): void {
    expectSequence(messages, [OUTAGE, HIGH_ERROR_RATE, OUTAGE_RESOLVED, ERROR_RATE_RESOLVED]);
    // The errors clients saw stay client-visible while the window forgets them.
    expect(messages.filter((m) => ERROR_RATE_MASKED.test(m.text))).toEqual([]);
  }

  function expectOnly503s(samples: Sample[]): void {
    const non200 = samples.filter((x) => x.status !== 200);
    expect(non200.length).toBeGreaterThan(0);
    expect([...new Set(non200.map((x) => x.status))]).toEqual([503]);
  }

  it('(d) both pools fail, then heal: an outage (never a failover) and the error rate, each resolved once', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(d) both pools fail for 10 s');
    await outage(s, 10_000);
    const { messages, samples } = await s.finish();
    expectOnly503s(samples);
    expectOutageMessages(messages);
  });

  it('(e) an outage longer than the cooldown: not repeated, resolved once', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(e) both pools fail for 30 s');
    await outage(s, 30_000);
    const { messages, samples } = await s.finish();
    expectOnly503s(samples);
    expectOutageMessages(messages);
    // The cooldown had passed: the outage's resolution went out once it resolved, not a cooldown later.
    const resolvedAfter = messages.find((m) => OUTAGE_RESOLVED.test(m.text))!.at - s.faults[0]!.to!;
    expect(resolvedAfter).toBeLessThan((FAIL_TIMEOUT_SEC + HOLD_SEC + 5) * 1000);
  });

  it('(f) maintenance switched on during a failure and off while it continues: silence, one summary, then the all-clear', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(f) maintenance during a failure');
    const fault = await s.fault('blue 500s', ['failover:blue'], () => chaosOk('blue', 'start?mode=error'));
    await s.waitForMessage(FAILOVER, DETECT_MS);
    const on = await stack.make('maintenance-on');
    expect(on.code, on.stderr).toBe(0);
    const onAt = Date.now();
    await waitForStats((st) => st.maintenance, 5_000, 'maintenance on');
    await sleep(10_000);
    const offAt = Date.now();
    const off = await stack.make('maintenance-off');
    expect(off.code, off.stderr).toBe(0);
    const summary = await s.waitForMessage(/^Maintenance ended/, 5_000);
    await sleep(5_000);
    await s.heal(fault, () => chaosOk('blue', 'stop'));

    const { messages, samples } = await s.finish();
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expectSequence(messages, [FAILOVER, re('Maintenance ended: 1 incident open'), RECOVERED]);
    expect(messages.filter((m) => m.at >= onAt && m.at <= offAt)).toEqual([]);
    console.log(`[incidents] (f): summary ${seconds(summary.at - offAt)} after maintenance-off: ${summary.blocksText}`);
    expect(summary.blocksText).toContain('Open: Failover: blue');
  });

  it('(g) a make switch that fails, then a real failover to that pool within the marker’s life: a failover, not a planned switch', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const s = await begin('(g) failed switch, then a failover to its pool');
    // Nginx's workers cannot read the control volume (its directory closed to
    // them): the switch announces itself, writes green, sees Nginx keep blue,
    // and after 5 s puts blue back and fails.
    const controlDir = stack.settings.POOL_CONTROL_DIR;
    chmodSync(controlDir, 0o700);
    let out: Awaited<ReturnType<Stack['make']>>;
    try {
      out = await stack.make('switch', 'POOL=green');
    } finally {
      chmodSync(controlDir, 0o755);
    }
    const switchFailedAt = Date.now();
    console.log(`[incidents] (g): make switch exited ${out.code}:\n${out.stdout}${out.stderr}`);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('Nginx still serves from blue 5 s after');
    expect((await getVersion()).pool).toBe('blue');
    expect(switchedPool(stack)).toBe('blue');
    const marker = await stack.compose('exec', '-T', 'alert_watcher', 'sh', '-c', 'cat /var/lib/watcher/planned-switch.json 2>/dev/null || echo none');
    console.log(`[incidents] (g): planned-switch marker after the failed switch: ${marker.trim()}`);

    // A failover to green whose first request served by green saw no failed
    // attempt, the one case a left-over marker would excuse: a POST that blue
    // hangs is not retried, but takes blue out, and the next GET goes straight
    // to green. The load waits while the POST goes first.
    await s.pauseLoad();
    const fault = await s.fault('blue hangs', ['failover:blue'], () => chaosOk('blue', 'start?mode=timeout'));
    const post = await fetch(`http://127.0.0.1:${PORTS.nginx}/version`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    await post.arrayBuffer();
    s.resumeLoad();
    expect(post.status).toBe(503);
    const rid = post.headers.get('x-request-id') ?? '';
    expect(rid).toMatch(/^[0-9a-f]{32}$/);
    await s.waitForMessage(FAILOVER, DETECT_MS);
    expect(Date.now() - switchFailedAt, 'within the marker’s life').toBeLessThan(PLANNED_SWITCH_TTL_SEC * 1000);
    const log = await stack.compose('exec', '-T', 'nginx', 'grep', '-A', '200', `rid=${rid}`, '/var/log/bluegreen/access.log');
    const firstGreen = log.split('\n').find((line) => line.includes('pool="green"'));
    console.log(`[incidents] (g): the POST: ${log.split('\n')[0]}\n[incidents] (g): first line served by green: ${firstGreen}`);
    expect(firstGreen).toContain('upstream_status="200"');
    await sleep(fault.from + 10_000 - Date.now());
    await s.heal(fault, () => chaosOk('blue', 'stop'));

    const { messages, samples } = await s.finish();
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expectSequence(messages, [FAILOVER, RECOVERED]);
    expect((await watcherStats()).primaryPool).toBe('blue');
  });
});
