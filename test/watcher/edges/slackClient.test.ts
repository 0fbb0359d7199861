import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { createSlackClient, type AlertSink, type SlackClientOptions } from '../../../watcher/notify/slackClient.js';
import { SECRET_PATH } from '../../../testkit/receiver.js';
import { startReceiver, type Receiver } from '../../../testkit/receiver.js';
import { freePort } from '../../../testkit/freePort.js';

const MESSAGE = { text: 'Failover detected: pool changed blue → green', blocks: [{ type: 'divider' }] };
const SECRET = SECRET_PATH.split('/').at(-1) ?? '';

let receiver: Receiver;
let client: AlertSink | undefined;
let logs: string[];

beforeEach(async () => {
  receiver = await startReceiver();
  logs = [];
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await receiver.close();
  // Every case checks the secret never reached a log line, whatever happened.
  expect(logs.join('')).not.toContain(SECRET);
  expect(logs.join('')).not.toContain(SECRET_PATH);
});

function slack(overrides: Partial<SlackClientOptions> = {}): AlertSink {
  client = createSlackClient({
    webhookUrl: receiver.url(),
    connectTimeoutMs: 1000,
    timeoutMs: 1000,
    retryForMs: 120_000,
    backoffBaseMs: 10,
    logger: createLogger('test', 'debug', { write: (s: string) => void logs.push(s) }),
    ...overrides,
  });
  return client;
}

const messages = () => logs.map((l) => (JSON.parse(l) as { msg: string }).msg);

describe('slack client', () => {
  it('posts {text, blocks} as JSON and reports delivered', async () => {
    expect(await slack().send(MESSAGE)).toBe('delivered');
    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req?.path).toBe(SECRET_PATH);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual(MESSAGE);
    expect(logs.join('')).toContain(`"host":"127.0.0.1:`);
  });

  it('retries a 5xx with backoff, then delivers once', async () => {
    receiver.answerNext(500, 503);
    expect(await slack().send(MESSAGE)).toBe('delivered');
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 503, 200]);
    expect(messages().filter((m) => m.includes('will retry'))).toHaveLength(2);
  });

  it('uses exponential backoff with jitter between retries', async () => {
    receiver.answerNext(500, 500, 500);
    const waits: number[] = [];
    const sink = slack({
      backoffBaseMs: 100,
      random: () => 1,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(await sink.send(MESSAGE)).toBe('delivered');
    expect(waits).toEqual([100, 200, 400]);
  });

  it('honours Retry-After on 429', async () => {
    receiver.answerNext({ status: 429, headers: { 'retry-after': '1' } });
    expect(await slack().send(MESSAGE)).toBe('delivered');
    const [limited, retried] = receiver.requests;
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('waits at least the base backoff when a 429 says Retry-After: 0', async () => {
    const zero = { status: 429, headers: { 'retry-after': '0' } };
    receiver.answerNext(zero, zero, zero, zero);
    const waits: number[] = [];
    const sink = slack({
      backoffBaseMs: 100,
      sleep: async (ms) => {
        waits.push(ms);
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    expect(await sink.send(MESSAGE)).toBe('delivered');
    expect(waits).toEqual([100, 100, 100, 100]);
    const at = receiver.requests.map((r) => r.at);
    expect(at).toHaveLength(5);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(95);
  });

  it('waits at least the base backoff when Retry-After is a date already past', async () => {
    receiver.answerNext({ status: 429, headers: { 'retry-after': new Date(Date.now() - 60_000).toUTCString() } });
    const waits: number[] = [];
    await slack({ backoffBaseMs: 100, sleep: async (ms) => void waits.push(ms) }).send(MESSAGE);
    expect(waits).toEqual([100]);
  });

  it('caps a long Retry-After', async () => {
    receiver.answerNext({ status: 429, headers: { 'retry-after': '3600' } });
    const waits: number[] = [];
    await slack({ maxRetryAfterMs: 60_000, sleep: async (ms) => void waits.push(ms) }).send(MESSAGE);
    expect(waits).toEqual([60_000]);
  });

  it('does not retry a 4xx other than 429', async () => {
    receiver.answerNext(400);
    expect(await slack().send(MESSAGE)).toBe('failed');
    expect(receiver.requests).toHaveLength(1);
    expect(messages()).toContain('Slack rejected the alert; not retrying');
  });

  it('retries a 408 like a timeout', async () => {
    receiver.answerNext(408);
    expect(await slack().send(MESSAGE)).toBe('delivered');
    expect(receiver.requests.map((r) => r.status)).toEqual([408, 200]);
  });

  it('says a permanent rejection once, not once per message', async () => {
    receiver.answerByDefault(403);
    const sink = slack();
    for (let i = 0; i < 3; i++) expect(await sink.send(MESSAGE)).toBe('failed');
    expect(receiver.requests).toHaveLength(3);
    expect(messages().filter((m) => m === 'Slack rejected the alert; not retrying')).toHaveLength(1);
    receiver.answerByDefault(200);
    expect(await sink.send(MESSAGE)).toBe('delivered');
    expect(messages()).toContain('Slack takes alerts again');
  });

  it('keeps retrying through an outage, with the backoff capped, until Slack answers', async () => {
    receiver.answerNext(...Array<number>(8).fill(503));
    let clock = 0;
    const waits: number[] = [];
    const sink = slack({
      retryForMs: 600_000,
      backoffBaseMs: 1000,
      maxBackoffMs: 10_000,
      random: () => 1,
      monotonic: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    expect(await sink.send(MESSAGE)).toBe('delivered');
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
    expect(receiver.delivered()).toHaveLength(1);
  });

  it('gives up once the next retry would pass retryForMs, with an error log', async () => {
    receiver.answerNext(500, 500, 500, 500);
    let clock = 0;
    const sink = slack({
      retryForMs: 2_500,
      backoffBaseMs: 1000,
      random: () => 1,
      monotonic: () => clock,
      sleep: async (ms) => void (clock += ms),
    });
    expect(await sink.send(MESSAGE)).toBe('failed');
    // Waits of 1 s and 2 s: the third would end past 2.5 s.
    expect(receiver.requests).toHaveLength(2);
    const giveUp = logs.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('giving up'));
    expect(giveUp).toMatchObject({ level: 'error', attempts: 2, retriedForMs: 2_500 });
  });

  it('times out an endpoint that never answers, within a bounded total time', async () => {
    receiver.answerNext('hang', 'hang');
    const started = Date.now();
    // Room for one retry after a 300 ms timeout, even on a busy machine, and not for a third attempt.
    expect(await slack({ timeoutMs: 300, retryForMs: 450 }).send(MESSAGE)).toBe('failed');
    const elapsed = Date.now() - started;
    expect(receiver.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('retries a refused connection and scrubs the URL out of the error', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}${SECRET_PATH}`;
    expect(await slack({ webhookUrl: url, retryForMs: 30 }).send(MESSAGE)).toBe('failed');
    expect(logs.join('')).toMatch(/ECONNREFUSED/);
  });
});

