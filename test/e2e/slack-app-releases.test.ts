// Releases in the bot-token mode on the real stack, against the receiver's
// stand-in for Slack's Web API: a good release and one rolled back are each
// one message with their steps in its thread, the rollback's failover linked
// to its run and the run to it. In the e2e project, one suite at a time, as
// release.test.ts: a release's gates (no failed request, the watcher's view
// of the new pool) need the host's two cores, and a loaded host rolls a good
// release back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { settleUnderTraffic } from './support/incidents.js';
import { chaos, pollUntil, slackApiMessages, startLoad, startStack, type Stack, type ChannelMessage, versionsOf } from './support/stack.js';

const enabled = requireDockerOrSkip('e2e Slack Web API releases');
const IMAGE = `bluegreen-node:${process.env.E2E_IMAGE_TAG ?? 'local'}`;

describe.skipIf(!enabled)('releases with a bot token on the Compose stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('slack-app-releases', {
      ANALYSIS_SEC: '4',
      ANALYSIS_RPS: '20',
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: 'xoxb-e2e-bot-token',
      SLACK_CHANNEL: 'C0STANDIN',
      SLACK_API_URL: 'http://slack_receiver:9000/api',
    });
  });
  afterAll(async () => {
    await stack?.down();
  });

  /**
   * The top-level message of release `id`, once its last version matches `final` and the run's end is
   * broadcast in its thread: the end edits the message first and replies after.
   */
  async function releaseMessage(id: string, final: RegExp) {
    const ended = (m: ChannelMessage) => final.test(m.text) && m.replies.at(-1)?.reply_broadcast === true;
    return pollUntil(
      async () => (await slackApiMessages()).find((m) => versionsOf(m).some((t) => t.startsWith(`Release ${id} `)) && ended(m)),
      15_000,
      250,
      () => `no message for release ${id} ending ${final}`,
    );
  }

  it('a good release and one rolled back: each one message, its steps in its thread; the rollback\'s failover linked both ways', async () => {
    await settleUnderTraffic(30_000);
    const load = startLoad(20);
    try {
      const good = await stack.makeWith({ timeoutMs: 240_000 }, 'release', 'RELEASE=s2', `IMAGE=${IMAGE}`);
      expect(good.code, good.output).toBe(0);
      const promoted = await releaseMessage('s2', /^Release s2 promoted/);

      let fired: Promise<unknown> | undefined;
      const bad = await stack.makeWith(
        { timeoutMs: 240_000, onOutput: (chunk) => void (chunk.includes('post-promotion analysis:') && (fired ??= chaos('blue', 'start?mode=error&rate=1'))) },
        'release',
        'RELEASE=s3',
        `IMAGE=${IMAGE}`,
      );
      await fired;
      expect(bad.output).toMatch(/ROLLING BACK/);
      const rolledBack = await releaseMessage('s3', /^Release s3 rolled back/);
      expect((await chaos('blue', 'stop')).status).toBe(200);

      const all = await slackApiMessages();
      console.log(`[e2e] slack app releases: ${JSON.stringify(all.map((m) => [m.text, m.replies.map((r) => r.text)]))}`);
      // One message per run, no step of either posted on its own.
      expect(all.filter((m) => versionsOf(m).some((t) => /^Release s2 /.test(t)))).toHaveLength(1);
      expect(all.filter((m) => versionsOf(m).some((t) => /^Release s3 /.test(t)))).toHaveLength(1);
      // As the channel shows them now: s3's thread has the failover's link too.
      const [good2, bad3] = [promoted, rolledBack].map((run) => all.find((m) => m.ts === run.ts)!);
      for (const run of [good2!, bad3!]) {
        expect(versionsOf(run)[0]).toMatch(/^Release s\d started/);
        expect(run.replies.at(-1)).toMatchObject({ reply_broadcast: true, text: run.text });
      }
      // The failover that rolled s3 back: its message links to the run, the run's thread to it.
      const failover = all.find((m) => versionsOf(m).some((t) => /^Failover detected: pool changed blue → green/.test(t)) && m.ts > promoted.ts);
      expect(failover, 'the rollback\'s failover message').toBeDefined();
      expect(JSON.stringify(failover!.blocks)).toContain('During release `s3`');
      expect(bad3!.replies.some((r) => r.text.includes(`p${failover!.ts.replace('.', '')}|Failover detected`) && r.text.endsWith('opened during this release'))).toBe(true);
    } finally {
      const samples = await load.stop();
      expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    }
  }, 240_000);
});
