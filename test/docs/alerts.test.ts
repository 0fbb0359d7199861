// The alert gallery: docs/alerts.md and the README's example failover are
// what `npm run gallery` writes from the watcher's code today; the channel
// it shows for a bot token is the one the real delivery (slackApp.ts, on the
// stand-in for Slack's Web API) leaves; and its Markdown says what Slack shows.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { messageLines, mrkdwnToMarkdown } from '../../gallery/markdown.js';
import { COMMAND, PAGE, README, README_END, README_START, renderGallery, withReadmeBlock, type Gallery } from '../../gallery/page.js';
import { botChannel, gallerySettings, play, webhookChannel } from '../../gallery/play.js';
import { stories } from '../../gallery/stories.js';
import type { Story } from '../../gallery/story.js';
import { createSlackAppClient } from '../../watcher/notify/slackApp.js';
import { formatSlackMessage, type SlackMessage } from '../../watcher/notify/slackMessage.js';
import { createThreadStore } from '../../watcher/state/slackThreads.js';
import { startSlackApi, STAND_IN_CHANNEL, STAND_IN_TOKEN, type SlackApiServer } from '../support/slackApiServer.js';
import { failoverView } from '../watcher/core/records.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const STALE = `is not what the watcher's code produces: run \`${COMMAND}\` (or make gallery) and commit the result`;

describe('the alert gallery is current', () => {
  let gallery: Gallery;
  beforeAll(() => {
    gallery = renderGallery();
  });

  it(`${PAGE} is what ${COMMAND} writes`, () => {
    expect(read(PAGE), `${PAGE} ${STALE}`).toBe(gallery.page);
  });

  it(`the README's example failover, between ${README_START} and ${README_END}, is what ${COMMAND} writes`, () => {
    const readme = read(README);
    const written = withReadmeBlock(readme, gallery.readme);
    expect(written, `${README} has no ${README_START} … ${README_END} block`).toBeDefined();
    expect(readme, `the example failover in ${README} ${STALE}`).toBe(written);
  });

  it('is the same on every run: no clock is read', () => {
    expect(renderGallery()).toEqual(gallery);
  });

  it('shows every kind of message, and links it from the README and the Slack page', () => {
    for (const headline of ['Failover detected', 'Failover ongoing: blue flapping', 'Failover still open after', 'Recovered: pool changed', 'Outage: no pool', 'Outage resolved', 'High error rate worse', 'High error rate better', 'Error rate resolved', 'Degraded pool:', 'Degraded pool resolved', 'Failover closed', 'Planned switch', 'Maintenance ended', 'Release v2 started', 'Release v2 promoted', 'Release v3 blocked', 'Release v4 rolled back automatically', 'Rolled back: traffic moved', 'Watcher restarted', 'After the fact', 'Test alert from the bluegreen watcher']) {
      expect(gallery.page, headline).toContain(`> **${headline}`);
    }
    expect(gallery.page).toContain('retries hide them from clients');
    expect(gallery.page).toContain('**also sent to the channel**');
    expect(read(README)).toContain('](docs/alerts.md)');
    expect(read('docs/slack.md')).toContain('](alerts.md)');
  });
});

describe('the stories', () => {
  const settings = gallerySettings();

  it('fail to build, naming the step, when the policy decides otherwise than a story says', () => {
    const [story] = stories(settings);
    const wrong: Story = { ...story!, steps: story!.steps.map((s, i) => (i === 0 ? { ...s, expect: [{ decision: 'defer', message: 'opened', title: 'x', why: 'y' }] } : s)) };
    expect(() => play(wrong, settings)).toThrow(/"A failover and its all-clear", step 1 .*the policy decided \[send opened \(failover\)\], the story expects \[defer opened\]/);
  });

  it('post every sent message with the webhook, and hold back what the cooldown holds back', () => {
    const played = play(stories(settings)[0]!, settings);
    expect(webhookChannel(played).map((d) => d.message.text)).toEqual([
      'Failover detected: pool changed blue → green',
      expect.stringMatching(/^Recovered: pool changed green → blue, steady for 30 s \(open 5 min\)$/),
    ]);
  });
});

describe("the bot token's channel is the one slackApp.ts leaves", () => {
  let api: SlackApiServer;
  let dir: string;
  beforeAll(async () => {
    api = await startSlackApi();
    dir = mkdtempSync(path.join(tmpdir(), 'gallery-'));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = gallerySettings();
  for (const story of stories(settings)) {
    const played = play(story, settings);
    const sent = played.moments.flatMap((m) => m.deliveries).flatMap((d) => (d.bot.kind === 'placed' ? [{ message: d.message, placement: d.bot.placement }] : []));
    if (sent.length === 0) continue;

    it(story.title, async () => {
      api.reset();
      let clock = 0;
      const sink = createSlackAppClient({
        token: STAND_IN_TOKEN,
        channel: STAND_IN_CHANNEL,
        apiUrl: api.url,
        connectTimeoutMs: 1000,
        timeoutMs: 2000,
        retryForMs: 10_000,
        threads: createThreadStore({ dir: mkdtempSync(path.join(dir, 'story-')), logger: createLogger('test', 'silent'), now: () => 0 }),
        logger: createLogger('test', 'silent'),
        monotonic: () => clock,
        sleep: async (ms) => void (clock += ms),
      });
      for (const { message, placement } of sent) expect(await sink.send(message, placement)).toBe('delivered');
      await sink.close();

      // Links to messages are the same link in both, whatever each calls the workspace and the ts; a
      // reply without blocks is sent without the field.
      const links = (v: unknown) => JSON.parse(JSON.stringify(v ?? null).replace(/https:\/\/[\w.-]+\.slack\.com\/archives\/\w+\/p\d+/g, 'PERMALINK'));
      const shown = (m: { text: string; blocks?: object[] }) => ({ text: links(m.text), blocks: m.blocks === undefined || m.blocks.length === 0 ? null : links(m.blocks) });
      const real = api.messages().map((m) => ({
        versions: [...m.versions.map(shown), shown(m)],
        replies: m.replies.map((r) => ({ ...shown(r), broadcast: r.reply_broadcast })),
      }));
      const gallery = botChannel(played).messages.map((m) => ({
        versions: m.versions.map((v) => shown(v.message)),
        replies: m.replies.map((r) => ({ ...shown(r.message), broadcast: r.broadcast })),
      }));
      expect(real).toEqual(gallery);
    });
  }
});

describe('Slack messages as Markdown', () => {
  it('writes the header in bold, each field as **Label**: value, and the context line small', () => {
    const at = Date.UTC(2026, 2, 10, 14, 2, 5);
    const message = formatSlackMessage(
      { kind: 'failover', message: 'opened', incidentId: 'failover:blue@1', openedAt: at, at, condition: failoverView(at, at), deferred: 0 },
      { runbookUrl: 'https://x.example/runbook.md' },
    );
    const lines = messageLines(message);
    expect(lines[0]).toBe('**Failover detected: pool changed blue → green**');
    expect(lines).toContain('- **Failing pool (release)**: blue (`blue-v1`)');
    expect(lines.at(-1)).toBe('<sub>Runbook: <https://x.example/runbook.md#failover> · Incident failover:blue@1 · last updated 2026-03-10 14:02:05 UTC</sub>');
  });

  it('turns mrkdwn into Markdown: bold, code spans, links, date tokens, and Slack\'s escapes', () => {
    expect(mrkdwnToMarkdown('*Open since*: _now_ ~old~')).toBe('**Open since**: _now_ ~~old~~');
    expect(mrkdwnToMarkdown('`GET /a?b=&lt;1&gt;&amp;c` → 500')).toBe('`GET /a?b=<1>&c` → 500');
    expect(mrkdwnToMarkdown('``')).toBe('\\`\\`');
    expect(mrkdwnToMarkdown('see <https://x.example/r?a=1&amp;b=2|the runbook>')).toBe('see [the runbook](https://x.example/r?a=1&amp;b=2)');
    expect(mrkdwnToMarkdown('at <!date^1773151325^{date_short_pretty} {time}|2026-03-10 14:02 UTC> by <@U123>')).toBe('at 2026-03-10 14:02 UTC by @U123');
    expect(mrkdwnToMarkdown('<!date^1773151325^{time}>')).toBe('2026-03-10T14:02:05.000Z');
    expect(mrkdwnToMarkdown('Runbook: https://x.example/r.md#failover.')).toBe('Runbook: <https://x.example/r.md#failover>.');
    // What Slack shows literally stays literal in Markdown.
    expect(mrkdwnToMarkdown('error_rate 5*2 [x] a|b')).toBe('error\\_rate 5\\*2 \\[x\\] a\\|b');
    expect(mrkdwnToMarkdown('`a`b`')).toBe('`a`b\\`');
  });

  it('keeps a field\'s line breaks, and writes a code span with backticks in it', () => {
    const message: SlackMessage = {
      text: 't',
      blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: '*Failing replicas*\n`a` (1)\n`b` (2)' }] }],
    };
    expect(messageLines(message)).toEqual(['- **Failing replicas**: `a` (1)<br>`b` (2)']);
  });

  it('refuses a block it cannot show, rather than leaving it out', () => {
    expect(() => messageLines({ text: 't', blocks: [{ type: 'actions', elements: [] }] })).toThrow(/no rendering for a Block Kit block of type "actions"/);
  });
});
