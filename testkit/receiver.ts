// A stand-in for Slack's incoming webhook on 127.0.0.1: records every request
// and answers as scripted (status codes, Retry-After, or never).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Epoch ms when the request was complete. */
  at: number;
  /** The status answered, or undefined for 'hang'. */
  status: number | undefined;
}

export interface Receiver {
  /** The webhook URL for `path` (default: a Slack-like secret path). */
  url(path?: string): string;
  /** Every request, in arrival order, whatever was answered. */
  readonly requests: ReceivedRequest[];
  /** Requests answered 2xx: the alerts Slack would have shown. */
  delivered(): ReceivedRequest[];
  /** Answers for the next requests, in order; after them every request gets the default answer. */
  answerNext(...answers: Answer[]): void;
  /** What unscripted requests get; 200 "ok" unless changed. */
  answerByDefault(answer: Answer): void;
  close(): Promise<void>;
}

export const SECRET_PATH = '/services/T000TEST/B000TEST/s3cr3tW3bh00kT0k3n';

export async function startReceiver(port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const script: Answer[] = [];
  let fallback: Answer = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = script.shift() ?? fallback;
      const { status, headers } =
        answer === 'hang' ? { status: undefined, headers: {} } : typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      requests.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        status,
      });
      if (status === undefined) return;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status < 300 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: (path = SECRET_PATH) => `http://127.0.0.1:${bound}${path}`,
    requests,
    delivered: () => requests.filter((r) => r.status !== undefined && r.status < 300),
    answerNext: (...answers) => void script.push(...answers),
    answerByDefault: (answer) => {
      fallback = answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
