// Incidents of the primary pool on the real Compose stack: the failover
// scenarios of test/watcher/core/incidents.test.ts, caused for real (see
// support/scenarios.ts for how a scenario runs and what each one checks).
//
// Blue's failover condition keeps its pool changes for 10 minutes (flap
// detection), across incidents: (a)'s changes make (b) flap early, and (b)'s
// may make (c) "flapping" from its first message.
import { describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import {
  COOLDOWN_SEC,
  DETECT_MS,
  FAILOVER,
  FLAPPING_UPDATE,
  RECOVERED,
  SCENARIO_TIMEOUT_MS,
  chaosOk,
  expectSequence,
  incidentsStack,
  seconds,
  toldLevel,
} from './support/scenarios.js';
import { waitForStats, watcherStats } from './support/incidents.js';
import { sleep } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e incidents (failover)');

describe.skipIf(!enabled)('failover incidents on the Compose stack', () => {
  const { begin } = incidentsStack('incidents-failover');

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
    // The update waits out the cooldown, never less. Blue flaps at Nginx's pace (out for fail_timeout
    // at each failure), so the flapping level comes within the cooldown or after it: held back, it goes
    // out when the cooldown ends (and, if blue is serving just then, at its next failure); after it, at once.
    const updateAfter = messages[1]!.at - opened.at;
    const decided = (await watcherStats()).recentAlerts.filter((a) => a.kind === 'failover' && /flapping/.test(a.text));
    const held = decided.some((a) => a.decision === 'defer');
    console.log(`[incidents] (b): the update came ${seconds(updateAfter)} after the first message; flapping ${held ? 'within' : 'after'} the cooldown`);
    expect(updateAfter).toBeGreaterThanOrEqual((COOLDOWN_SEC - 1) * 1000);
    if (held) expect(updateAfter).toBeLessThan((COOLDOWN_SEC + 10) * 1000);
    else {
      // Decided when the level changed and sent at once: posted within seconds of the decision.
      const sent = decided.find((a) => a.decision === 'send');
      expect(sent, JSON.stringify(decided)).toBeDefined();
      expect(messages[1]!.at - Date.parse(sent!.raisedAt)).toBeLessThan(5_000);
    }
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
});
