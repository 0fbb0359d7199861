// The incident model end to end on an injected clock: access-log lines in,
// Slack messages out, one table per scenario. Settings: 10 requests/s, a
// 60 s cooldown, a 10 s recovery hold. Times are seconds since the scenario
// began (the end of the second in which the message was decided).
import { describe, expect, it } from 'vitest';
import type { AccessRecord } from '../../../watcher/types.js';
import { record, rng } from './records.js';
import { failedOver, noPool, served, Sim, T0 } from './sim.js';

const RATE = 10;
const healthy = () => served('blue');

/**
 * Nginx in front of a blue that fails a share of its attempts: each failure is
 * retried on green and takes blue out for fail_timeout (5 s), during which
 * green serves alone.
 */
function nginx(failShare: number, seed = 1): (i: number, sec: number) => AccessRecord {
  const random = rng(seed);
  let outUntil = -1;
  return (_i, sec) => {
    if (sec < outUntil) return served('green');
    if (random() >= failShare) return served('blue');
    outUntil = sec + 5;
    return failedOver();
  };
}

/** Blue down: the first request after each fail_timeout probes it and fails over; green serves the rest. */
function blueDown(): (i: number, sec: number) => AccessRecord {
  let probeAt = -1;
  return (_i, sec) => {
    if (sec < probeAt) return served('green');
    probeAt = sec + 5;
    return failedOver();
  };
}

/** The last message must never be an all-clear while something fails: what each scenario ends by checking. */
const allClear = /^(Recovered|Outage resolved|Error rate resolved|Maintenance ended: nothing)/;

describe('incidents: a failure that comes back inside the cooldown', () => {
  it('blue fails, heals, fails again and stays down: Slack never hears an all-clear', async () => {
    const sim = new Sim();
    await sim.run(10, RATE, healthy);
    await sim.run(20, RATE, blueDown());
    await sim.run(40, RATE, healthy); // healed for 20 s: resolved inside the cooldown, held back
    await sim.run(100, RATE, blueDown()); // fails again and stays down past the cooldown's end (71 s)
    expect(sim.messages()).toEqual([[10, 'Failover detected: pool changed blue → green']]);
    // The all-clear at 30 s was held back, then found untrue when the cooldown ended.
    expect(sim.stats.snapshot(sim.pipeline.view(), source, { delivery: 'test', heartbeat: { url: 'off' } }).alerts.defer).toBe(1);

    await sim.run(130, RATE, healthy);
    expect(sim.messages().slice(1)).toEqual([[110, 'Recovered: pool changed green → blue, steady for 10 s (open 1 min 40 s)']]);
  });

  it('a heal longer than the cooldown is announced when the cooldown ends, and a new failure at once', async () => {
    const sim = new Sim();
    await sim.run(10, RATE, blueDown());
    await sim.run(80, RATE, healthy);
    await sim.run(90, RATE, blueDown());
    expect(sim.messages()).toEqual([
      [0, 'Failover detected: pool changed blue → green'],
      [60, 'Recovered: pool changed green → blue, steady for 10 s (open 1 min)'],
      [80, 'Failover detected: pool changed blue → green'],
    ]);
  });
});

describe('incidents: intermittent failure that failover hides', () => {
  it('blue failing 20% of its attempts: opened at once, flapping at the cooldown, resolved once steady', async () => {
    // A threshold no request window reaches here, to see the failover alone.
    const sim = new Sim({ thresholdPercent: 50 });
    await sim.run(10, RATE, healthy);
    await sim.run(100, RATE, nginx(0.2));
    await sim.run(150, RATE, healthy);
    const texts = sim.messages();
    expect(texts[0]).toEqual([10, 'Failover detected: pool changed blue → green']);
    // The cooldown runs from the opening line, a fraction into second 10.
    expect([70, 71]).toContain(texts[1]?.[0]);
    expect(texts[1]?.[1]).toMatch(/^Failover ongoing: blue flapping \(\d+ pool changes in 10 min\), (blue|green) serving now \(open 1 min( 1 s)?\)$/);
    expect(texts[2]?.[1]).toMatch(/^Recovered: pool changed green → blue, steady for 10 s/);
    // Steady from 100 s, resolved at 110 s, held back until a cooldown after the update.
    expect([130, 131]).toContain(texts[2]?.[0]);
    expect(texts).toHaveLength(3);
    // The message shows the pool's own attempts since it failed, which the request window hides.
    const fields = JSON.stringify(sim.received[1]?.message.blocks);
    expect(fields).toMatch(/Blue since it failed\*\\n\d+ of \d+ attempts failed/);
  });
});

describe('incidents: both pools failing', () => {
  it('is an outage, never worded as a failover, and resolves once requests succeed steadily', async () => {
    // The error-rate incident that comes with it is its own scenario below.
    const sim = new Sim({ cooldownMs: 20_000, thresholdPercent: 100 });
    await sim.run(10, RATE, healthy);
    await sim.run(30, RATE, noPool);
    // Blue stays out for fail_timeout after the outage: green serves first.
    await sim.run(35, RATE, () => served('green'));
    await sim.run(60, RATE, healthy);
    expect(sim.messages()).toEqual([
      [10, 'Outage: no pool could answer; clients get 503 errors'],
      [40, 'Outage resolved: requests succeed again, steady for 10 s (open 30 s)'],
    ]);
  });

  it('an outage longer than the cooldown is reminded, not repeated, and resolved once', async () => {
    const sim = new Sim({ remindMs: 45_000, thresholdPercent: 100 });
    await sim.run(5, RATE, healthy);
    await sim.run(100, RATE, noPool);
    await sim.run(160, RATE, healthy);
    expect(sim.messages()).toEqual([
      [5, 'Outage: no pool could answer; clients get 503 errors'],
      [50, 'Outage still open after 45 s: no pool could answer (open 45 s)'],
      [95, 'Outage still open after 1 min 30 s: no pool could answer (open 1 min 30 s)'],
      // Steady from 100 s, resolved at 110 s; a reminder is a message too, so the cooldown runs from 95 s.
      [155, 'Outage resolved: requests succeed again, steady for 10 s (open 2 min 30 s)'],
    ]);
  });

  it('blue fails first, then green too: failover, outage, error rate; each resolves once', async () => {
    const sim = new Sim({ cooldownMs: 20_000 });
    await sim.run(10, RATE, blueDown());
    await sim.run(20, RATE, noPool);
    await sim.run(50, RATE, healthy);
    expect(sim.messages()).toEqual([
      [0, 'Failover detected: pool changed blue → green'],
      [10, 'Outage: no pool could answer; clients get 503 errors'],
      [20, 'High error rate: 51% of the last 200 requests failed (threshold 2%)'],
      [30, 'Recovered: pool changed green → blue, steady for 10 s (open 30 s)'],
      [30, 'Outage resolved: requests succeed again, steady for 10 s (open 20 s)'],
      [40, 'Error rate resolved: 0% of the last 200 requests (threshold 2%) (open 20 s)'],
    ]);
  });
});

describe('incidents: maintenance', () => {
  it('switched on during a failure and off while it continues: one summary lists what is open', async () => {
    const sim = new Sim();
    await sim.run(10, RATE, blueDown());
    sim.maintenanceOn = true;
    await sim.run(40, RATE, blueDown());
    sim.maintenanceOn = false;
    await sim.run(60, RATE, blueDown());
    await sim.run(130, RATE, healthy);
    expect(sim.messages()).toEqual([
      [0, 'Failover detected: pool changed blue → green'],
      [41, 'Maintenance ended: 1 incident open'],
      [101, 'Recovered: pool changed green → blue, steady for 10 s (open 1 min 41 s)'],
    ]);
    expect(JSON.stringify(sim.received[1]?.message.blocks)).toContain('Open: Failover: blue failing, green serving');
  });

  it('an incident that opened and resolved during maintenance is counted in the summary, not paged', async () => {
    const sim = new Sim();
    sim.maintenanceOn = true;
    await sim.run(10, RATE, blueDown());
    await sim.run(40, RATE, healthy);
    sim.maintenanceOn = false;
    await sim.run(45, RATE, healthy);
    expect(sim.messages()).toEqual([[41, 'Maintenance ended: nothing is open']]);
    expect(JSON.stringify(sim.received[0]?.message.blocks)).toContain('1 more opened and resolved during maintenance');
  });

  it('a failover Slack heard of that resolved during maintenance is reported resolved in the summary', async () => {
    const sim = new Sim();
    await sim.run(10, RATE, blueDown());
    sim.maintenanceOn = true;
    await sim.run(40, RATE, healthy);
    sim.maintenanceOn = false;
    await sim.run(45, RATE, healthy);
    expect(sim.messages()).toEqual([
      [0, 'Failover detected: pool changed blue → green'],
      [41, 'Maintenance ended: nothing is open'],
    ]);
    expect(JSON.stringify(sim.received[1]?.message.blocks)).toContain('Resolved during maintenance: Failover');
  });
});

describe('incidents: planned switches', () => {
  const marker = (to: 'blue' | 'green') => ({ id: `m-${to}`, from: undefined, to, createdAt: T0, expiresAt: T0 + 600_000 });

  it('a clean switch is announced as planned and makes the new pool the primary', async () => {
    const sim = new Sim();
    await sim.run(5, RATE, healthy);
    sim.marker = marker('green');
    await sim.run(10, RATE, () => served('green'));
    await sim.run(20, RATE, () => served('blue'));
    expect(sim.messages()).toEqual([
      [5, 'Planned switch: pool changed blue → green'],
      // Blue serving now is a failover of the new primary.
      [10, 'Failover detected: pool changed green → blue'],
    ]);
  });

  // Lines 0-4 of the second after the switch: green, then one request Nginx's
  // old worker still held for blue, then green again.
  const oldWorker = (blueLine: AccessRecord) => (i: number) => (i === 2 ? blueLine : served('green'));

  it("a clean answer from the old pool just after the switch is Nginx's old worker finishing: no failover", async () => {
    const sim = new Sim();
    await sim.run(5, RATE, healthy);
    sim.marker = marker('green');
    await sim.run(6, RATE, oldWorker(served('blue')));
    await sim.run(60, RATE, () => served('green'));
    expect(sim.messages()).toEqual([[5, 'Planned switch: pool changed blue → green']]);
    expect(sim.pipeline.view().servingPool).toBe('green');
  });

  it('an answer from the old pool after a failed attempt on the new one is a failover, even within the grace', async () => {
    const sim = new Sim();
    await sim.run(5, RATE, healthy);
    sim.marker = marker('green');
    const greenFailed = record({ upstreamStatuses: [502, 200], upstreamAddrs: ['172.18.0.4:3000', '172.18.0.3:3000'] });
    await sim.run(6, RATE, oldWorker(greenFailed));
    expect(sim.messages()).toEqual([
      [5, 'Planned switch: pool changed blue → green'],
      // Decided at once; delivered after the notice ahead of it in the queue.
      [6, 'Failover detected: pool changed green → blue'],
    ]);
  });

  it('a switch to the backup while it serves (a release rolled back during its failover) closes the failover', async () => {
    const sim = new Sim();
    await sim.run(5, RATE, healthy);
    await sim.run(8, RATE, blueDown());
    // make switch POOL=green: the marker, then Nginx publishes green once it reloaded.
    sim.marker = marker('green');
    sim.published = 'green';
    await sim.run(70, RATE, () => served('green'));
    expect(sim.messages()).toEqual([
      [5, 'Failover detected: pool changed blue → green'],
      [8, 'Planned switch: pool changed blue → green'],
      // The failover's next word waits out its cooldown (60 s), like any other change.
      [65, 'Failover closed: blue is no longer the primary (planned switch to green) (open 1 min)'],
    ]);
    expect(sim.pipeline.view()).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  });

  it('a switch whose first request saw a failed attempt is a failover, whatever was announced', async () => {
    const sim = new Sim();
    await sim.run(5, RATE, healthy);
    sim.marker = marker('green');
    await sim.run(10, RATE, blueDown());
    expect(sim.messages()).toEqual([[5, 'Failover detected: pool changed blue → green']]);
  });
});

describe('incidents: error rate', () => {
  // Unretried requests (a POST) that blue fails: clients see the 5xx, no pool changes.
  const unretried = () => record({ method: 'POST', status: 503, upstreamStatuses: [500] });

  it('opens at once past the threshold, and resolves at half of it, told once each', async () => {
    const sim = new Sim({ windowSize: 50, thresholdPercent: 10, cooldownMs: 10_000 });
    await sim.run(10, RATE, (i) => (i % 4 === 0 ? unretried() : healthy()));
    await sim.run(30, RATE, healthy);
    const texts = sim.messages().map(([, text]) => text);
    expect(texts[0]).toMatch(/^High error rate: \d+(\.\d)?% of the last 50 requests failed \(threshold 10%\)$/);
    expect(texts.at(-1)).toMatch(/^Error rate resolved: [0-5](\.\d)?% of the last 50 requests \(threshold 10%\)/);
    expect(texts.filter((t) => allClear.test(t))).toHaveLength(1);
  });
});

describe('incidents: delivery and restarts', () => {
  it('a message Slack never got is re-sent with the truth once the cooldown ends', async () => {
    let fail = false;
    const sim = new Sim({ answer: () => (fail ? 'failed' : 'delivered') });
    await sim.run(10, RATE, blueDown());
    fail = true;
    await sim.run(80, RATE, healthy); // the all-clear at 61 s fails
    fail = false;
    await sim.run(130, RATE, healthy);
    expect(sim.messages().map(([at, text]) => [at, text.split(' (open')[0]])).toEqual([
      [0, 'Failover detected: pool changed blue → green'],
      [60, 'Recovered: pool changed green → blue, steady for 10 s'],
      [120, 'Recovered: pool changed green → blue, steady for 10 s'],
    ]);
  });

  it('a restart keeps open incidents, what Slack heard and the deferred all-clear', async () => {
    const first = new Sim();
    await first.run(10, RATE, blueDown());
    await first.run(30, RATE, healthy); // resolved at 21 s, held back until 61 s
    const state = JSON.parse(JSON.stringify(first.pipeline.state()));
    const second = new Sim({ restore: state, startSec: 30 });
    await second.run(70, RATE, healthy);
    expect(first.messages()).toEqual([[0, 'Failover detected: pool changed blue → green']]);
    expect(second.messages()).toEqual([[60, 'Recovered: pool changed green → blue, steady for 10 s (open 1 min)']]);
  });
});

const source = {
  state: 'following' as const,
  path: '/dev/null',
  offset: 0,
  rotationPending: false,
  rotations: 0,
  truncations: 0,
  behindBytes: 0,
  lastLineAt: 0,
  changeHints: false,
};

