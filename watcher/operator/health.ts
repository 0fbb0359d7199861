// GET /healthz for the Compose healthcheck, GET /stats for operators.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';

export interface HealthServer {
  close(): Promise<void>;
}

export async function startHealthServer(opts: {
  port: number;
  stats: () => object;
  logger: Logger;
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`;
    const [status, body] =
      route === 'GET /healthz'
        ? [200, { status: 'ok' }]
        : route === 'GET /stats'
          ? [200, opts.stats()]
          : [404, { error: 'not found' }];
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  });
  // Scrapes and healthchecks are short; a stuck client must not hold shutdown.
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  opts.logger.info({ component: 'health', port }, 'health and stats server listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
