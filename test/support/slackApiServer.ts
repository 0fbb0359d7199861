// The stand-in for Slack's Web API (test/e2e/receiver/slackApi.mjs, the one
// the end-to-end receiver serves) on 127.0.0.1, for unit tests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSlackApi, type SlackApi } from '../e2e/receiver/slackApi.mjs';

export const STAND_IN_CHANNEL = 'C0STANDIN';
export const STAND_IN_TOKEN = 'xoxb-0000-unit-test-token';

export interface SlackApiServer extends SlackApi {
  /** SLACK_API_URL for the watcher: `http://127.0.0.1:<port>/api`. */
  url: string;
  close(): Promise<void>;
}

export async function startSlackApi(options?: Parameters<typeof createSlackApi>[0]): Promise<SlackApiServer> {
  const api = createSlackApi(options);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = api.call(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...api,
    url: `http://127.0.0.1:${port}/api`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
