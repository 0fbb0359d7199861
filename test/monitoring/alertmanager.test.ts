// monitoring/alertmanager-entrypoint.sh renders monitoring/alertmanager.yml
// with one way to Slack: the bot token (Slack's Web API, update_message: one
// message per incident, edited as it changes) whenever it is set, else the
// incoming webhook as before; each secret in a file of its own, never in the
// config or on stderr. The rendering runs here with the host's sh (paths
// moved into a temporary directory); then, with Docker, Alertmanager's own
// amtool (the profile's image) checks both renderings, since its 0.33 accepts
// update_message in one shape only (the template says which).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireDockerOrSkip } from '../e2e/support/docker.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TEMPLATE = path.join(ROOT, 'monitoring/alertmanager.yml');
const ENTRYPOINT = path.join(ROOT, 'monitoring/alertmanager-entrypoint.sh');
const ALERTMANAGER_IMAGE = `prom/alertmanager:${dotenv.parse(readFileSync(path.join(ROOT, '.env.example'))).ALERTMANAGER_VERSION ?? 'v0.33.0'}`;
/** Where the entrypoint writes (its `dir=`), which the template's file paths must name. */
const DIR = /^dir=(\S+)$/m.exec(readFileSync(ENTRYPOINT, 'utf8'))?.[1] ?? '';

interface SlackConfig {
  send_resolved?: boolean;
  api_url?: string;
  api_url_file?: string;
  http_config?: { authorization?: { type?: string; credentials_file?: string; credentials?: string } };
  channel?: string;
  update_message?: boolean;
  title?: string;
}

interface Rendered {
  code: number | null;
  stderr: string;
  /** The rendered file, as text. */
  text: string;
  slack: SlackConfig;
  /** The files it wrote beside the config: name → content and mode. */
  files: Record<string, { content: string; mode: number }>;
}

/** Runs the entrypoint with only `env` (and PATH), its paths moved under a fresh directory and Alertmanager replaced by `true`. */
function render(env: Record<string, string>): Rendered {
  const root = mkdtempSync(path.join(tmpdir(), 'bg-am-entrypoint-'));
  const run = path.join(root, 'run');
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc/alertmanager.yml.template'), readFileSync(TEMPLATE));
  const script = readFileSync(ENTRYPOINT, 'utf8')
    .replace(/^dir=\S+$/m, `dir=${run}`)
    .replace('/etc/alertmanager/alertmanager.yml.template', path.join(root, 'etc/alertmanager.yml.template'))
    .replace(/^exec \/bin\/alertmanager .*$/m, 'exec true');
  writeFileSync(path.join(root, 'entrypoint.sh'), script);
  const r = spawnSync('sh', [path.join(root, 'entrypoint.sh')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  const files: Rendered['files'] = {};
  let text = '';
  for (const name of readdirSync(run)) {
    const content = readFileSync(path.join(run, name), 'utf8');
    if (name === 'alertmanager.yml') text = content;
    else files[name] = { content, mode: statSync(path.join(run, name)).mode & 0o777 };
  }
  const slack = text === '' ? {} : ((parse(text) as { receivers: { slack_configs: SlackConfig[] }[] }).receivers[0]!.slack_configs[0] ?? {});
  return { code: r.status, stderr: r.stderr, text, slack, files };
}

const TOKEN = 'xoxb-1234-unit-secret';
const WEBHOOK = 'https://hooks.slack.com/services/T0UNIT/B0UNIT/unit-webhook-secret';

describe('monitoring/alertmanager-entrypoint.sh: one way to Slack', () => {
  it('with a bot token: the Web API as Alertmanager 0.33 takes update_message, the token in a file only', () => {
    const r = render({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.slack).toMatchObject({
      send_resolved: true,
      api_url: 'https://slack.com/api/chat.postMessage',
      http_config: { authorization: { type: 'Bearer', credentials_file: `${DIR}/slack_bot_token` } },
      channel: 'C0STANDIN',
      update_message: true,
    });
    expect(r.slack.api_url_file).toBeUndefined();
    expect(r.slack.http_config?.authorization?.credentials).toBeUndefined();
    // The file the config names holds the token, for Alertmanager's user alone; no webhook file.
    expect(Object.keys(r.files)).toEqual(['slack_bot_token']);
    expect(r.files.slack_bot_token).toEqual({ content: TOKEN, mode: 0o600 });
    expect(r.text).not.toContain(TOKEN);
    expect(r.stderr).not.toContain(TOKEN);
    expect(r.stderr.trim()).toBe("alertmanager-entrypoint: Slack through the bot token (Slack's Web API, channel C0STANDIN, one message per incident edited as it changes)");
  });

  it('with both set: the bot token, and stderr says so; the webhook goes nowhere', () => {
    const r = render({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN', ALERTMANAGER_SLACK_WEBHOOK_URL: WEBHOOK });
    expect(r.code, r.stderr).toBe(0);
    expect(r.slack.update_message).toBe(true);
    expect(r.slack.api_url_file).toBeUndefined();
    expect(Object.keys(r.files)).toEqual(['slack_bot_token']);
    expect(r.stderr).toMatch(/^alertmanager-entrypoint: ALERTMANAGER_SLACK_BOT_TOKEN and ALERTMANAGER_SLACK_WEBHOOK_URL are both set: using the bot token .*; the webhook is not used\n$/);
    for (const secret of [TOKEN, WEBHOOK]) {
      expect(r.text).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
  });

  it('with the webhook only: the receiver as before, api_url_file and nothing of the Web API', () => {
    const r = render({ ALERTMANAGER_SLACK_WEBHOOK_URL: WEBHOOK });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.slack.api_url_file).toBe(`${DIR}/slack_api_url`);
    for (const key of ['api_url', 'http_config', 'channel', 'update_message'] as const) expect(r.slack[key], key).toBeUndefined();
    expect(r.files).toEqual({ slack_api_url: { content: WEBHOOK, mode: 0o600 } });
    expect(r.text).not.toContain(WEBHOOK);
  });

  it('with neither: Alertmanager starts, and stderr says Slack will not hear it', () => {
    const r = render({});
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe('alertmanager-entrypoint: ALERTMANAGER_SLACK_WEBHOOK_URL is empty (and ALERTMANAGER_SLACK_BOT_TOKEN too): notifications to Slack will fail');
    expect(r.slack.api_url_file).toBe(`${DIR}/slack_api_url`);
  });

  it('with neither and ALERTMANAGER_SLACK_REQUIRED (Kubernetes): refuses to start, saying what to set', () => {
    const r = render({ ALERTMANAGER_SLACK_REQUIRED: 'true' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'alertmanager-entrypoint: neither ALERTMANAGER_SLACK_BOT_TOKEN nor ALERTMANAGER_SLACK_WEBHOOK_URL is set, and ALERTMANAGER_SLACK_REQUIRED=true: not starting (put one in the Secret alertmanager)',
    );
    expect(render({ ALERTMANAGER_SLACK_REQUIRED: 'true', ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN' }).code).toBe(0);
  });

  it('a channel without a token: the webhook, and stderr says the channel is unused', () => {
    const r = render({ ALERTMANAGER_SLACK_WEBHOOK_URL: WEBHOOK, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN' });
    expect(r.code).toBe(0);
    expect(r.slack.api_url_file).toBe(`${DIR}/slack_api_url`);
    expect(r.stderr).toMatch(/ALERTMANAGER_SLACK_CHANNEL is set but ALERTMANAGER_SLACK_BOT_TOKEN is empty: using the webhook/);
  });

  it('with a token, a channel that is not an ID refuses to start, naming the setting and never the token', () => {
    for (const channel of ['', '#alerts', 'alerts', 'C', 'c0standin', 'C0 STANDIN', "C0'x", 'C0/x']) {
      const r = render({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: channel });
      expect(r.code, JSON.stringify(channel)).toBe(1);
      expect(r.stderr).toMatch(/^alertmanager-entrypoint: ALERTMANAGER_SLACK_CHANNEL must be the ID of the channel the bot is in/);
      expect(r.stderr).not.toContain(TOKEN);
      expect(r.text).toBe('');
    }
    for (const channel of ['C0STANDIN', 'G0PRIVATE1', 'D012AB3CD']) {
      expect(render({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: channel }).code, channel).toBe(0);
    }
  });

  it('every rendering is the whole template: no placeholder, no tag left, the message wording the same either way', () => {
    const bot = render({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN' });
    const hook = render({ ALERTMANAGER_SLACK_WEBHOOK_URL: WEBHOOK });
    for (const r of [bot, hook]) {
      expect(r.text).not.toMatch(/\$\{[A-Z_]+\}/);
      expect(r.text).not.toMatch(/ #(webhook|bot-token)$/m);
    }
    expect(bot.slack.title).toBeDefined();
    const wording = (s: SlackConfig) => JSON.stringify(s, ['title', 'text', 'color']);
    expect(wording(bot.slack)).toBe(wording(hook.slack));
  });
});

const enabled = requireDockerOrSkip('monitoring alertmanager check-config');

/** The entrypoint in the profile's image with `env`, Alertmanager replaced by `amtool check-config` of what it rendered. */
function checkConfigInImage(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const args = ['run', '--rm', '--network', 'none', '--read-only', '--tmpfs', '/tmp'];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  args.push(
    '-v', `${TEMPLATE}:/etc/alertmanager/alertmanager.yml.template:ro`,
    '-v', `${ENTRYPOINT}:/etc/alertmanager/entrypoint.sh:ro`,
    '--entrypoint', '/bin/sh', ALERTMANAGER_IMAGE,
    '-c', 'sed "s|^exec /bin/alertmanager .*|exec /bin/amtool check-config \\"\\$dir/alertmanager.yml\\"|" /etc/alertmanager/entrypoint.sh > /tmp/check.sh && exec sh /tmp/check.sh',
  );
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!enabled)(`monitoring/alertmanager.yml rendered, against ${ALERTMANAGER_IMAGE}'s amtool`, () => {
  it('the bot-token rendering (update_message) passes check-config', { timeout: 90_000 }, async () => {
    const r = await checkConfigInImage({ ALERTMANAGER_SLACK_BOT_TOKEN: TOKEN, ALERTMANAGER_SLACK_CHANNEL: 'C0STANDIN' });
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toContain(TOKEN);
  });

  it('the webhook rendering passes check-config', { timeout: 90_000 }, async () => {
    const r = await checkConfigInImage({ ALERTMANAGER_SLACK_WEBHOOK_URL: WEBHOOK });
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.code, r.output).toBe(0);
  });
});
