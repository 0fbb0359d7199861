// A stand-in for Slack's incoming webhook, run as a container on the test
// stack's network: records every POST; the test reads them from GET /messages.
//
// The test can make it misbehave, as a real receiver in trouble does:
//   POST /control {"status": 503}                        every webhook post is answered 503 until told otherwise
//   POST /control {"status": 500, "bodyBytes": 209715200} answered 500 with a 200 MiB body
//   POST /control {"status": 200}                        back to normal
// GET /control says what it is set to and how the huge answers went.
// GET /messages lists the accepted posts only (what Slack would show), so the
// suites that never misbehave read what they always read; GET /messages?all=1
// lists the refused ones too. Each entry has `accepted` and the `status` it got.
//
// It is Slack's Web API too (slackApi.mjs), for the bot-token mode:
//   POST /api/<method>                                   the Web API itself
//   POST /slack-api/fail {"method": "chat.update", "fault": {"status": 429}}   the next such call fails
//   POST /slack-api/remove {"channel": "C…", "ts": "…"}  a message deleted in Slack
//   GET /slack-api/messages                              the channel: messages, their edits and threads
//   GET /slack-api/calls                                 every call in order
// With SLACK_API_TLS_DIR (a directory holding cert.pem and key.pem) it also
// answers HTTPS on port 443, the same routes: for a client that calls
// https://slack.com/api/… whatever it is told (Alertmanager's update_message;
// test/e2e/slack-web-api.compose.yml names this container slack.com).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { createSlackApi } from './slackApi.mjs';

const slackApi = createSlackApi();

const messages = [];
let mode = { status: 200, bodyBytes: 0 };
// A huge body is written as this one chunk over and over: memory stays flat whatever the size.
const CHUNK = Buffer.alloc(64 * 1024, 'x');
// Bytes handed to the socket, per huge answer: the watcher cuts it short by closing the connection.
const huge = { started: 0, finished: 0, abandoned: 0, maxBytesWritten: 0, bytesWritten: 0 };

/** `bytes` of body after the headers, at the pace the client reads; stops when the client goes away. */
function streamBody(res, bytes) {
  huge.started++;
  let written = 0;
  let closed = false;
  const settle = (finished) => {
    if (finished) huge.finished++;
    else huge.abandoned++;
    huge.bytesWritten += written;
    huge.maxBytesWritten = Math.max(huge.maxBytesWritten, written);
  };
  res.on('close', () => {
    closed = true;
    if (written < bytes) settle(false);
  });
  const pump = () => {
    while (!closed && written < bytes) {
      const chunk = bytes - written >= CHUNK.length ? CHUNK : CHUNK.subarray(0, bytes - written);
      written += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed && written >= bytes) {
      settle(true);
      res.end();
    }
  };
  pump();
}

function answerWebhook(res) {
  const { status, bodyBytes } = mode;
  if (bodyBytes > 0) {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bodyBytes) });
    streamBody(res, bodyBytes);
    return;
  }
  const text = status >= 200 && status < 300 ? 'ok' : 'receiver_told_to_fail';
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

function parseMode(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { status, bodyBytes = 0 } = value ?? {};
  if (!Number.isInteger(status) || status < 200 || status > 599) return undefined;
  if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0) return undefined;
  return { status, bodyBytes };
}

const json = (res, status, value) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

/** The Web API stand-in's control routes: script a fault, delete a message, read what it holds. */
function answerControl(req, res, text) {
  let body = {};
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    json(res, 400, { error: 'expected JSON' });
    return;
  }
  try {
    if (req.method === 'POST' && req.url === '/slack-api/fail') {
      slackApi.fail(String(body.method), body.fault ?? {});
      json(res, 200, { ok: true });
    } else if (req.method === 'POST' && req.url === '/slack-api/remove') json(res, 200, { removed: slackApi.remove(String(body.channel), String(body.ts)) });
    else if (req.method === 'GET' && req.url === '/slack-api/messages') json(res, 200, slackApi.messages());
    else if (req.method === 'GET' && req.url === '/slack-api/calls') json(res, 200, slackApi.calls());
    else json(res, 404, { error: 'no such control route' });
  } catch (err) {
    json(res, 400, { error: err.message });
  }
}

function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'POST' && req.url.startsWith('/api/')) {
      const answer = slackApi.call(req.url, req.headers, text);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
    } else if (req.url.startsWith('/slack-api/')) {
      answerControl(req, res, text);
    } else if (req.method === 'POST' && req.url.startsWith('/services/')) {
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      const { status } = mode;
      messages.push({ receivedAt: Date.now(), body, accepted: status >= 200 && status < 300, status });
      answerWebhook(res);
    } else if (req.method === 'POST' && req.url === '/control') {
      const next = parseMode(text);
      if (next === undefined) {
        json(res, 400, { error: 'expected {"status": 200..599, "bodyBytes"?: bytes}' });
        return;
      }
      mode = next;
      json(res, 200, { ...mode, huge });
    } else if (req.method === 'GET' && req.url === '/control') {
      json(res, 200, { ...mode, huge });
    } else if (req.method === 'GET' && req.url === '/messages') {
      json(res, 200, messages.filter((m) => m.accepted));
    } else if (req.method === 'GET' && req.url === '/messages?all=1') {
      json(res, 200, messages);
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else {
      res.writeHead(404).end('no_service');
    }
  });
}

createServer(handle).listen(9000);
const tlsDir = process.env.SLACK_API_TLS_DIR;
if (tlsDir) {
  const tls = { cert: readFileSync(path.join(tlsDir, 'cert.pem')), key: readFileSync(path.join(tlsDir, 'key.pem')) };
  createHttpsServer(tls, handle).listen(443);
}

// PID 1 of its container: without a handler Node ignores SIGTERM, and every
// `docker compose down` would wait out its 10 s stop timeout.
process.on('SIGTERM', () => process.exit(0));
