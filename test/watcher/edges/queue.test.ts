import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { DeliveryQueue, type QueueOutcome } from '../../../watcher/notify/queue.js';
import type { AlertSink, DeliveryResult, SlackMessage } from '../../../watcher/notify/slackClient.js';
import type { Alert } from '../../../watcher/types.js';

/** A sink whose sends finish only when the test says so. */
function manualSink() {
  const calls: Array<{ text: string; finish: (r: DeliveryResult) => void }> = [];
  const sink: AlertSink = {
    send: (message: SlackMessage) => new Promise((resolve) => calls.push({ text: message.text, finish: resolve })),
    close: async () => {},
  };
  return { sink, calls };
}

function setup(capacity: number, sink: AlertSink) {
  const outcomes: Array<[string, QueueOutcome]> = [];
  const logs: string[] = [];
  const queue = new DeliveryQueue({
    capacity,
    sink,
    logger: createLogger('test', 'info', { write: (s: string) => void logs.push(s) }),
    onOutcome: (item, outcome) => outcomes.push([item.message.text, outcome]),
  });
  const enqueue = (text: string) => queue.enqueue({ alert: { kind: 'failover' } as Alert, message: { text, blocks: [] } });
  return { queue, enqueue, outcomes, logs };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('delivery queue', () => {
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
