import { describe, expect, it } from 'vitest';
import { AlertPolicy, type Decision } from '../../../watcher/policy/index.js';
import type { Alert, AlertKind } from '../../../watcher/types.js';

const COOLDOWN = 60_000;

function setup(opts: { cooldownMs?: number; maintenance?: boolean } = {}) {
  const clock = { now: 1_800_000_000_000 };
  const state = { maintenance: opts.maintenance ?? false };
  const policy = new AlertPolicy({
    cooldownMs: opts.cooldownMs ?? COOLDOWN,
    clock: () => clock.now,
    maintenance: () => state.maintenance,
  });
  return { policy, clock, state };
}

function alert(kind: AlertKind = 'failover'): Alert {
  return {
    kind,
    at: 0,
    from: 'blue',
    to: 'green',
    window: {
      size: 200,
      count: 200,
      errors: 0,
      clientErrors: 0,
      upstreamErrors: 0,
      errorRate: 0,
      clientErrorRate: 0,
      upstreamErrorRate: 0,
      topFailingUpstream: undefined,
    },
    thresholdPercent: 2,
    heldBack: 0,
  };
}

/** The alert as the sink gets it; fails the test when the decision was not to send. */
function sent(d: Decision): Alert {
  if (d.action !== 'send') throw new Error(`expected send, got ${d.action}`);
  return d.alert;
}

describe('AlertPolicy cooldown', () => {
  it('sends the first alert of a kind with nothing held back', () => {
    const { policy } = setup();
    expect(policy.decide(alert())).toEqual({ action: 'send', alert: { ...alert(), heldBack: 0 } });
  });

  it('holds the same kind within the cooldown after a delivery, and counts it', () => {
    const { policy, clock } = setup();
    policy.delivered(sent(policy.decide(alert())));
    clock.now += COOLDOWN - 1;
    expect(policy.decide(alert())).toEqual({ action: 'hold', reason: 'cooldown', alert: alert() });
    expect(policy.decide(alert()).action).toBe('hold');
    clock.now += 1;
    expect(sent(policy.decide(alert())).heldBack).toBe(2);
  });

  it('starts the cooldown at delivery, not at the decision', () => {
    const { policy, clock } = setup();
    const first = sent(policy.decide(alert()));
    clock.now += COOLDOWN; // Slack was slow
    policy.delivered(first);
    clock.now += COOLDOWN - 1;
    expect(policy.decide(alert()).action).toBe('hold');
  });

  it('keeps kinds apart', () => {
    const { policy } = setup();
    policy.delivered(sent(policy.decide(alert('failover'))));
    for (const kind of ['recovery', 'error_rate', 'resolved'] as const) {
      expect(policy.decide(alert(kind)).action).toBe('send');
    }
    expect(policy.decide(alert('failover')).action).toBe('hold');
  });

  it('holds the same kind while one is pending, and keeps those holds for the next one', () => {
    const { policy, clock } = setup();
    policy.delivered(sent(policy.decide(alert())));
    policy.decide(alert()); // held by cooldown
    clock.now += COOLDOWN;
    const second = sent(policy.decide(alert()));
    expect(second.heldBack).toBe(1);
    // Slack is slow: these arrive while `second` is in flight.
    expect(policy.decide(alert()).action).toBe('hold');
    expect(policy.decide(alert()).action).toBe('hold');
    policy.delivered(second);
    clock.now += COOLDOWN;
    expect(sent(policy.decide(alert())).heldBack).toBe(2);
  });

  it('does not start a cooldown or subtract the held count when delivery fails', () => {
    const { policy, clock } = setup();
    policy.delivered(sent(policy.decide(alert())));
    policy.decide(alert());
    policy.decide(alert());
    clock.now += COOLDOWN;
    const lost = sent(policy.decide(alert()));
    expect(lost.heldBack).toBe(2);
    policy.decide(alert()); // held while pending
    policy.failed(lost);
    const retry = sent(policy.decide(alert()));
    expect(retry.heldBack).toBe(3);
    policy.delivered(retry);
    clock.now += COOLDOWN;
    expect(sent(policy.decide(alert())).heldBack).toBe(0);
  });

  it('does not let a clock stepped backwards silence a kind', () => {
    const { policy, clock } = setup();
    policy.delivered(sent(policy.decide(alert())));
    clock.now -= 3_600_000;
    expect(policy.decide(alert()).action).toBe('send');
  });

  it('never holds planned switches, pending or just delivered', () => {
    const { policy } = setup();
    sent(policy.decide(alert('planned_switch'))); // still in flight
    const second = sent(policy.decide(alert('planned_switch')));
    policy.delivered(second);
    expect(sent(policy.decide(alert('planned_switch'))).heldBack).toBe(0);
  });

  it('sends everything when the cooldown is 0, even while one is pending', () => {
    const { policy } = setup({ cooldownMs: 0 });
    const first = sent(policy.decide(alert()));
    expect(sent(policy.decide(alert())).heldBack).toBe(0);
    policy.delivered(first);
    expect(sent(policy.decide(alert())).heldBack).toBe(0);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects cooldownMs %s', (cooldownMs) => {
    expect(() => setup({ cooldownMs })).toThrow(RangeError);
  });
});

describe('AlertPolicy maintenance', () => {
  it.each(['failover', 'recovery', 'planned_switch', 'error_rate', 'resolved'] as const)(
    'suppresses %s during maintenance',
    (kind) => {
      const { policy } = setup({ maintenance: true });
      expect(policy.decide(alert(kind))).toEqual({ action: 'suppress', reason: 'maintenance', alert: alert(kind) });
    },
  );

  it('checks maintenance before the cooldown, and does not count suppressed alerts as held', () => {
    const { policy, state, clock } = setup();
    policy.delivered(sent(policy.decide(alert())));
    state.maintenance = true;
    expect(policy.decide(alert()).action).toBe('suppress');
    expect(policy.decide(alert()).action).toBe('suppress');
    state.maintenance = false;
    expect(policy.decide(alert()).action).toBe('hold');
    clock.now += COOLDOWN;
    expect(sent(policy.decide(alert())).heldBack).toBe(1);
  });

  it('reads maintenance on every decision', () => {
    const { policy, state } = setup();
    expect(policy.decide(alert('planned_switch')).action).toBe('send');
    state.maintenance = true;
    expect(policy.decide(alert('planned_switch')).action).toBe('suppress');
  });
});
