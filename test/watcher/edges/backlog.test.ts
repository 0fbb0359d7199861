// The log read after a restart (detect/backlog.ts through the pipeline): what
// opened and ended while the watcher was down is told after the fact with
// its times, never as a live page; what is still open at the end is live;
// an incident Slack heard of before the restart ends with its own all-clear;
// holds run on the lines' time, however fast they are read; nothing is
// decided (or saved) before the source has caught up.
import { describe, expect, it } from 'vitest';
import type { PipelineState } from '../../../watcher/pipeline.js';
import type { AccessRecord } from '../../../watcher/types.js';
import { failedOver, served, Sim, T0, toLine } from '../core/sim.js';

const HOLD = 10_000;
// The watcher comes back an hour after the backlog's first line.
const DOWN_AT = T0;
const BACK_AT = DOWN_AT + 3_600_000;

const at = (ms: number, r: AccessRecord) => toLine({ ...r, time: new Date(ms).toISOString().replace('Z', '+00:00') });

function setup(restore?: PipelineState) {
  const past: { key: string; openedAt: number }[] = [];
  let saves = 0;
  const sim = new Sim({
    cooldownMs: 0,
    recoveryHoldMs: HOLD,
    thresholdPercent: 50,
    restore,
    startSec: (BACK_AT - T0) / 1000,
    catchingUp: true,
    onStateChange: () => void saves++,
    alertmanager: { observe: () => {}, observeRestored: () => {}, observePast: (p) => void past.push(...p.map(({ view, openedAt }) => ({ key: view.key, openedAt }))) },
  });
  const texts = async () => {
    await sim.pipeline.drain(1000);
    return sim.received.map((m) => m.text);
  };
  return { sim, pipeline: sim.pipeline, texts, past, saves: () => saves };
}

/** Blue fails over at +10 s for 20 s, then serves steadily for `steadyMs`; a line every 500 ms. */
function failoverThenHealed(p: { onLine(l: string): void }, steadyMs: number): number {
  let t = DOWN_AT;
  for (; t < DOWN_AT + 10_000; t += 500) p.onLine(at(t, served('blue')));
  for (; t < DOWN_AT + 30_000; t += 500) p.onLine(at(t, failedOver()));
  for (; t < DOWN_AT + 30_000 + steadyMs; t += 500) p.onLine(at(t, served('blue')));
  return t;
}

describe('the backlog read after a restart', () => {
  it('tells a failover that opened and ended while the watcher was down after the fact, with its times, never as a live page', async () => {
    const { pipeline, texts, past, saves } = setup();
    failoverThenHealed(pipeline, HOLD + 5_000);
    // Read in one go, yet the hold ran out on the lines' time; nothing is decided or saved before the end.
    pipeline.tick();
    expect(await texts()).toEqual([]);
    expect(pipeline.catchingUp).toBe(true);
    expect(saves()).toBe(0);
    pipeline.caughtUp();
    expect(pipeline.catchingUp).toBe(false);
    expect(await texts()).toEqual(['After the fact: Failover of blue from 12:00:10 to 12:00:40 UTC, while the watcher was down; over since then']);
    expect(past).toEqual([{ key: 'failover:blue', openedAt: DOWN_AT + 10_000 }]);
    // Live from here: the incident is over and stays so.
    pipeline.onLine(at(BACK_AT, served('blue')));
    pipeline.tick();
    expect(await texts()).toHaveLength(1);
  });

  it('pages live, at its real opening time, a failover still open when the backlog ends', async () => {
    const { sim, pipeline, texts, past } = setup();
    let t = DOWN_AT;
    for (; t < DOWN_AT + 20_000; t += 500) pipeline.onLine(at(t, failedOver()));
    pipeline.caughtUp();
    expect(past).toEqual([]);
    const live = await texts();
    expect(live).toHaveLength(1);
    expect(live[0]).toMatch(/^Failover detected: pool changed blue → green/);
    // Then it resolves like any live incident.
    pipeline.onLine(at(BACK_AT, served('blue')));
    await sim.idle(sim.t + HOLD / 1000);
    expect((await texts())[1]).toMatch(/^Recovered: pool changed green → blue/);
  });

  it('ends an incident Slack heard of before the restart with its all-clear, not as a past incident', async () => {
    // The previous run told Slack of the failover, then stopped while it was open.
    const before = setup();
    before.pipeline.caughtUp();
    let t = DOWN_AT - 60_000;
    for (; t < DOWN_AT; t += 500) before.pipeline.onLine(at(t, failedOver()));
    expect(await before.texts()).toEqual([expect.stringMatching(/^Failover detected/)]);
    const after = setup(before.pipeline.state());
    for (t = DOWN_AT; t < DOWN_AT + HOLD + 5_000; t += 500) after.pipeline.onLine(at(t, served('blue')));
    after.pipeline.caughtUp();
    expect(after.past).toEqual([]);
    expect(await after.texts()).toEqual([expect.stringMatching(/^Recovered: pool changed green → blue/)]);
  });

  it('a failover that healed just before the restart, its hold not yet run out in the log, is finished by the clock at the end', async () => {
    const { pipeline, texts } = setup();
    // Blue steady for 2 s of the 10 s hold when the log ends; the watcher comes back an hour later.
    failoverThenHealed(pipeline, 2_000);
    pipeline.caughtUp();
    expect(await texts()).toEqual([expect.stringMatching(/^After the fact: Failover of blue from 12:00:10 to \d\d:\d\d:\d\d UTC/)]);
  });
});
