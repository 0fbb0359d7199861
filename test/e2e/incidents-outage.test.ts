// Outages, maintenance and a failed switch on the real Compose stack: the
// scenarios of test/watcher/core/incidents.test.ts, caused for real (see
// support/scenarios.ts for how a scenario runs and what each one checks).
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import {
  DETECT_MS,
  FAILOVER,
  FAIL_TIMEOUT_SEC,
  HIGH_ERROR_RATE,
  HOLD_SEC,
  OUTAGE,
  OUTAGE_RESOLVED,
  ERROR_RATE_MASKED,
  ERROR_RATE_RESOLVED,
  PLANNED_SWITCH_TTL_SEC,
  RECOVERED,
  SCENARIO_TIMEOUT_MS,
  chaosOk,
  expectSequence,
  incidentsStack,
  re,
  seconds,
  type Scenario,
} from './support/scenarios.js';
import { waitForStats, watcherStats, type AlertMessage } from './support/incidents.js';
import { PORTS, getVersion, sleep, switchedPool, type Sample, type Stack } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e incidents (outage, maintenance, failed switch)');

describe.skipIf(!enabled)('outage, maintenance and failed-switch incidents on the Compose stack', () => {
  const { stack: started, begin } = incidentsStack('incidents-outage');

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
    const on = await started().make('maintenance-on');
    expect(on.code, on.stderr).toBe(0);
    const onAt = Date.now();
    await waitForStats((st) => st.maintenance, 5_000, 'maintenance on');
    await sleep(10_000);
    const offAt = Date.now();
    const off = await started().make('maintenance-off');
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
    const stack = started();
    const controlDir = stack.settings.POOL_CONTROL_DIR;
    chmodSync(controlDir, 0o700);
    let out: Awaited<ReturnType<Stack['make']>>;
    try {
      out = await started().make('switch', 'POOL=green');
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
