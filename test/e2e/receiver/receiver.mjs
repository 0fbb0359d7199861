// A stand-in for Slack's incoming webhook, run as a container on the test
// stack's network: records every POST; the test reads them from GET /messages.
import { createServer } from 'node:http';

const messages = [];

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST' && req.url.startsWith('/services/')) {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      messages.push({ receivedAt: Date.now(), body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.method === 'GET' && req.url === '/messages') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(messages));
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else {
      res.writeHead(404).end('no_service');
    }
  });
}).listen(9000);
