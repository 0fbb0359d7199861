import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { DeliveryQueue, type QueuedAlert } from '../../../watcher/notify/queue.js';
import type { AlertSink, DeliveryResult, SlackMessage } from '../../../watcher/notify/slackClient.js';
import type { Notification } from '../../../watcher/policy/index.js';
import type { Outcome } from '../../../watcher/vocabulary.js';
import { failoverView } from '../core/records.js';

/** A sink whose sends finish only when the test says so. */
function manualSink() {
  const calls: Array<{ text: string; finish: (r: DeliveryResult) => void }> = [];
  const sink: AlertSink = {
    send: (message: SlackMessage) => new Promise((resolve) => calls.push({ text: message.text, finish: resolve })),
    close: async () => {},
  };
  return { sink, calls };
}

function setup(capacity: number, sink: AlertSink, clock = () => 0) {
  const outcomes: Array<[string, Outcome]> = [];
  const settled: QueuedAlert[] = [];
  const logs: string[] = [];
  const queue = new DeliveryQueue({
    capacity,
    sink,
    logger: createLogger('test', 'info', { write: (s: string) => void logs.push(s) }),
    clock,
    onOutcome: (item, outcome) => {
      outcomes.push([item.message.text, outcome]);
      settled.push(item);
    },
  });
  const enqueue = (text: string) => queue.enqueue(item(text));
  return { queue, enqueue, outcomes, settled, logs };
}

/** A planned-switch notice: the smallest notification; the queue only carries it. */
function item(text: string): QueuedAlert {
  const notification: Notification = { kind: 'planned_switch', message: 'notice', at: 0, from: 'blue', to: 'green' };
  return { notification, message: { text, blocks: [] } };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('delivery queue', () => {
  it('says since when its oldest undelivered alert has waited, for the heartbeat', async () => {
    const { sink, calls } = manualSink();
    let now = 1_000;
    const { queue, enqueue } = setup(1, sink, () => now);
    expect(queue.waitingSince()).toBeUndefined();
    enqueue('a');
    now = 2_000;
    enqueue('b');
    await tick();
    // 'a' is in flight: it is the oldest, however long its send takes.
    now = 9_000;
    expect(queue.waitingSince()).toBe(1_000);
    calls[0]?.finish('failed');
    await tick();
    expect(queue.waitingSince()).toBe(2_000);
    // 'b' is in flight, not waiting: 'c' fits behind it even at capacity 1.
    now = 10_000;
    enqueue('c');
    calls[1]?.finish('delivered');
    await tick();
    expect(queue.waitingSince()).toBe(10_000);
    calls[2]?.finish('delivered');
    await tick();
    expect(queue.waitingSince()).toBeUndefined();
  });

  it('sends one at a time, in order', async () => {
    const { sink, calls } = manualSink();
    const { enqueue, outcomes } = setup(10, sink);
    enqueue('a');
    enqueue('b');
    await tick();
    expect(calls.map((c) => c.text)).toEqual(['a']);
    calls[0]?.finish('delivered');
    await tick();
    expect(calls.map((c) => c.text)).toEqual(['a', 'b']);
    calls[1]?.finish('failed');
    await tick();
    expect(outcomes).toEqual([
      ['a', 'delivered'],
      ['b', 'failed'],
    ]);
  });

  it('hands each item back with its outcome, notification included, for the policy', async () => {
    const { sink, calls } = manualSink();
    const { queue, settled } = setup(10, sink);
    const a = item('a');
    queue.enqueue(a);
    await tick();
    calls[0]?.finish('failed');
    await tick();
    expect(settled).toEqual([a]);
    expect(settled[0]?.notification).toBe(a.notification);
  });

  it('lists what is waiting, the one in flight first, for a checkpoint', async () => {
    const { sink, calls } = manualSink();
    const { queue, enqueue } = setup(10, sink);
    expect(queue.items()).toEqual([]);
    enqueue('a');
    enqueue('b');
    await tick();
    expect(queue.items().map((i) => i.message.text)).toEqual(['a', 'b']);
    calls[0]?.finish('delivered');
    await tick();
    expect(queue.items().map((i) => i.message.text)).toEqual(['b']);
    calls[1]?.finish('delivered');
    await tick();
    expect(queue.items()).toEqual([]);
  });

  it('drops the oldest waiting alert on overflow, logs and reports it', async () => {
    const { sink, calls } = manualSink();
    const { queue, enqueue, outcomes, logs } = setup(2, sink);
    enqueue('in-flight');
    await tick();
    enqueue('oldest');
    enqueue('middle');
    enqueue('newest');
    expect(outcomes).toEqual([['oldest', 'dropped']]);
    expect(logs.join('')).toContain('alert queue full; dropped the oldest alert');
    expect(JSON.parse(logs.find((l) => l.includes('alert queue full')) ?? '{}')).toMatchObject({ kind: 'planned_switch', text: 'oldest' });
    expect(queue.pending).toBe(3);
    for (let i = 0; i < 3; i++) {
      calls[i]?.finish('delivered');
      await tick();
    }
    expect(calls.map((c) => c.text)).toEqual(['in-flight', 'middle', 'newest']);
    expect(queue.pending).toBe(0);
  });

  it('drain sends everything queued', async () => {
    const sent: string[] = [];
    const sink: AlertSink = {
      send: async (m) => {
        await new Promise((r) => setTimeout(r, 20));
        sent.push(m.text);
        return 'delivered';
      },
      close: async () => {},
    };
    const { queue, enqueue } = setup(10, sink);
    enqueue('a');
    enqueue('b');
    enqueue('c');
    expect(await queue.drain(2_000)).toBe(0);
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('drain gives up at its timeout and says how many are left', async () => {
    const { sink } = manualSink();
    const { queue, enqueue } = setup(10, sink);
    enqueue('a');
    enqueue('b');
    const started = Date.now();
    expect(await queue.drain(100)).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('drain of an idle queue returns at once', async () => {
    const { queue } = setup(10, manualSink().sink);
    expect(await queue.drain(10_000)).toBe(0);
  });
});

describe('delivery queue: edits ahead of the cooldown', () => {
  const edit = (incidentId: string, text: string): QueuedAlert => ({
    notification: { kind: 'failover', message: 'updated', incidentId, openedAt: 0, at: 0, condition: failoverView(0, 0), deferred: 1 },
    message: { text, blocks: [] },
    editOnly: true,
  });

  it('keeps only the newest waiting edit of an incident, and sends it as an edit', async () => {
    const steps: (string | undefined)[] = [];
    const { sink, calls } = manualSink();
    const recording: AlertSink = { ...sink, send: (m, p) => (steps.push(p?.step), sink.send(m, p)) };
    const { queue, enqueue, outcomes } = setup(10, recording);
    enqueue('busy');
    queue.enqueue(edit('inc-1', 'first'));
    queue.enqueue(edit('inc-2', 'other'));
    queue.enqueue(edit('inc-1', 'newest'));
    for (let i = 0; i < 3; i++) {
      await tick();
      calls.at(-1)!.finish('delivered');
    }
    await queue.drain(1_000);
    expect(calls.map((c) => c.text)).toEqual(['busy', 'other', 'newest']);
    expect(steps).toEqual([undefined, 'edit', 'edit']);
    expect(outcomes.map(([text]) => text)).toEqual(['busy', 'other', 'newest']);
  });
});
