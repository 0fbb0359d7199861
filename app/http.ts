// The wire format every answer shares: JSON, uncacheable, and the pool's
// identity even on a request Node could not parse.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export type SendJson = (
  res: ServerResponse,
  status: number,
  body: object,
  headers?: Record<string, string>,
) => void;

export function jsonSender(draining: () => boolean): SendJson {
  return (res, status, body, headers = {}) => {
    const payload = JSON.stringify(body);
    // Once shutdown has begun, each connection ends with its current response.
    if (draining()) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      'Cache-Control': 'no-store',
    });
    // Node drops the body of a HEAD answer itself but keeps Content-Length.
    res.end(payload);
  };
}

// Node's own answer to unparsable requests is a bare 400 without our headers.
export function clientErrorHandler(
  pool: string,
  release: string,
  log: Logger,
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // Same guard as Node's default handler: never write into a response under way.
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const statusText = STATUS_CODES[status] ?? 'Bad Request';
    const payload = JSON.stringify({ error: statusText });
    log.warn({ err: err.code ?? err.message, status }, 'unparsable request');
    socket.end(
      [
        `HTTP/1.1 ${status} ${statusText}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(payload)}`,
        'Cache-Control: no-store',
        `X-App-Pool: ${pool}`,
        `X-Release-Id: ${release}`,
        'Connection: close',
        '',
        payload,
      ].join('\r\n'),
    );
  };
}
