// The bot-token mode on the real stack, against the receiver's stand-in for
// Slack's Web API: one failover is one top-level message, its changes in its
// thread, the watcher killed with SIGKILL in the middle of it and restarted,
// the next edit on the same message (after a 429 waited out), edited to
// resolved once blue is steady, the all-clear broadcast. Releases in this
// mode: slack-app-releases.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { settleUnderTraffic, waitForStats } from './support/incidents.js';
import {
  chaos,
  pollUntil,
  receivedAlerts,
  slackApiCalls,
  slackApiFail,
  slackApiMessages,
  startLoad,
  startStack,
  waitForServing,
  type Stack,
  versionsOf,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e Slack Web API');
// The stand-in's channel; any xoxb- token is taken.
const CHANNEL = 'C0STANDIN';

describe.skipIf(!enabled)('Slack with a bot token on the Compose stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('slack-app', {
      SLACK_BOT_TOKEN: 'xoxb-e2e-bot-token',
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: 'http://slack_receiver:9000/api',
    });
  });
  afterAll(async () => {
    await stack?.down();
  });

  const incidentMessages = async () => (await slackApiMessages()).filter((m) => /^(Failover|Recovered)/.test(m.text));
  it('one failover, a SIGKILL in the middle of it: one message, edited to resolved on the same ts, its story in the thread', async () => {
    // The overlay sets a webhook too: the bot token wins, and the webhook hears nothing.
    const log = await stack.compose('logs', 'alert_watcher');
    expect(log).toContain('SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL are both set: posting with the bot token');
    expect(log).not.toContain('xoxb-e2e-bot-token');
    await settleUnderTraffic(30_000);
    const load = startLoad(20);
    try {
      expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
      await waitForServing('green', 5_000);
      const [opened] = await pollUntil(async () => ((await incidentMessages()).length > 0 ? incidentMessages() : undefined), 15_000, 250, () => 'no incident message');
      expect(opened!.text).toMatch(/^Failover detected: pool changed blue → green/);
      // Its place is saved before the kill: delivered means recorded.
      await waitForStats((s) => s.alerts.queued === 0, 10_000, 'the first message delivered');

      await stack.compose('kill', '-s', 'SIGKILL', 'alert_watcher');
      // The restarted watcher's first edit is rate limited once: waited out, then made.
      await slackApiFail('chat.update', { status: 429, retryAfter: 1 });
      await stack.compose('start', 'alert_watcher');

      expect((await chaos('blue', 'stop')).status).toBe(200);
      await waitForServing('blue', 15_000);
      await pollUntil(
        async () => {
          const all = await incidentMessages();
          return all.length === 1 && /^Recovered/.test(all[0]!.text) ? all : undefined;
        },
        40_000,
        500,
        () => 'the incident message never edited to Recovered',
      );
      await waitForStats((s) => s.incidents.length === 0 && s.alerts.queued === 0, 10_000, 'nothing open or queued');
      // Read again once all is delivered: the close edits the message first and replies after, so the
      // message seen edited to Recovered may not have its all-clear reply yet.
      const channel = await slackApiMessages();
      const incidents = channel.filter((m) => /^(Failover|Recovered)/.test(m.text));
      const [resolved] = incidents;
      const top = channel.map((m) => m.text);
      console.log(`[e2e] slack app: channel ${JSON.stringify(top)}; incident versions ${JSON.stringify(versionsOf(resolved!))}`);
      // One top-level message for the incident (a restart notice is a message of its own), the same ts as at first.
      expect(incidents).toHaveLength(1);
      expect(resolved!.ts).toBe(opened!.ts);
      expect(top.filter((t) => /^Watcher restarted after an unclean stop/.test(t))).toHaveLength(1);
      expect(resolved!.edits).toBeGreaterThanOrEqual(1);
      expect(versionsOf(resolved!)[0]).toMatch(/^Failover detected/);
      // The story in the thread, the all-clear last and broadcast to the channel.
      const replies = resolved!.replies;
      expect(replies.at(-1)).toMatchObject({ reply_broadcast: true, text: expect.stringMatching(/^Recovered: pool changed green → blue/) });
      expect(replies.filter((r) => r.reply_broadcast)).toHaveLength(1);
      const calls = await slackApiCalls();
      const edits = calls.filter((c) => c.method === 'chat.update');
      expect(edits[0]).toMatchObject({ status: 429 });
      expect(edits[1]).toMatchObject({ status: 200, args: expect.objectContaining({ ts: opened!.ts, channel: CHANNEL }) });
      // Every call in the channel, with the token as a header, never in a body.
      expect(calls.every((c) => c.args.channel === undefined || c.args.channel === CHANNEL)).toBe(true);
      expect(calls.some((c) => JSON.stringify(c.args).includes('xoxb-'))).toBe(false);
      expect(await receivedAlerts()).toEqual([]);
    } finally {
      const samples = await load.stop();
      // Nginx's failover hides blue's errors from clients, the point of the stack.
      expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    }
  }, 150_000);
});
