// A client must not be able to make its own request invisible by making its
// log line longer than the watcher reads: MAX_LINE_BYTES has to fit the
// longest line Nginx can write with the limits in its config.
import { describe, expect, it } from 'vitest';
import { MAX_REPLICAS } from '../../../ops/stack/settings.js';
import { watcherConfigSchema } from '../../../watcher/config.js';
import { parseLine } from '../../../watcher/parse/index.js';
import { directive, logFormat, nginxSize, readTemplate, renderLine } from './nginxTemplate.js';

// escape=default writes `"`, `\` and every byte outside 0x20..0x7E as \xHH.
const ESCAPED_BYTE = 4;
const CLIENT_VARIABLES = ['request_method', 'request_uri'];
const UPSTREAM_VARIABLES = ['upstream_http_x_app_pool', 'upstream_http_x_release_id'];

// The longest value Nginx itself makes for the other variables: with
// proxy_next_upstream_tries 0 a request tries each server once, so one
// attempt per replica of both pools at most, each to an IPv6 address.
const ADDR = '[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535';
const ATTEMPTS = 2 * MAX_REPLICAS;
const each = (value: string) => Array.from({ length: ATTEMPTS }, () => value).join(', ');
const LONGEST_OWN_VALUES: Record<string, string> = {
  bg_time_s: '2026-12-31T23:59:59',
  bg_time_ms: '999',
  bg_time_tz: '+14:00',
  request_id: 'f'.repeat(32),
  status: '504',
  upstream_status: each('504'),
  upstream_addr: each(ADDR),
  request_time: '99999.999',
  upstream_response_time: each('99999.999'),
  body_bytes_sent: '9223372036854775807',
};

const defaultMaxLineBytes = () => watcherConfigSchema.shape.MAX_LINE_BYTES.parse(undefined);

/** The limits Nginx puts on what a client and an upstream can make it log. */
function nginxLimits(template: string) {
  return {
    // A request line (method, URI, protocol) must fit in one of these buffers, or Nginx answers 414.
    requestLineBytes: nginxSize(directive(template, 'large_client_header_buffers')[1] ?? ''),
    // The app's response headers, X-App-Pool and X-Release-Id among them, must fit in this one buffer.
    upstreamHeaderBytes: nginxSize(directive(template, 'proxy_buffer_size')[0] ?? ''),
  };
}

describe('MAX_LINE_BYTES default', () => {
  const template = readTemplate();

  it('fits the longest line Nginx can write with the limits in its template', () => {
    const { requestLineBytes, upstreamHeaderBytes } = nginxLimits(template);
    const emptied = Object.fromEntries([...CLIENT_VARIABLES, ...UPSTREAM_VARIABLES].map((name) => [name, '']));
    const ownBytes = Buffer.byteLength(renderLine(logFormat(template), { ...LONGEST_OWN_VALUES, ...emptied }));
    // Both header values sit in the one upstream buffer, so together they are within its size.
    const worstCase = ESCAPED_BYTE * (requestLineBytes + upstreamHeaderBytes) + ownBytes + 1;
    expect(defaultMaxLineBytes()).toBeGreaterThanOrEqual(worstCase);
  });

  it('a line with the longest escaped path, pool and release parses, and fits', () => {
    const { requestLineBytes, upstreamHeaderBytes } = nginxLimits(template);
    const method = 'GET';
    // The request line is `METHOD SP URI SP HTTP/1.1`: every byte of the URI a `"`.
    const uriBytes = requestLineBytes - `${method}  HTTP/1.1`.length;
    const headerBytes = Math.floor(upstreamHeaderBytes / 2);
    const line = renderLine(logFormat(template), {
      ...LONGEST_OWN_VALUES,
      status: '200',
      upstream_status: '200',
      request_method: method,
      request_uri: `/${'\\x22'.repeat(uriBytes - 1)}`,
      upstream_http_x_app_pool: '\\xC3'.repeat(headerBytes),
      upstream_http_x_release_id: '\\xA9'.repeat(headerBytes),
    });
    expect(Buffer.byteLength(line) + 1).toBeLessThanOrEqual(defaultMaxLineBytes());

    const parsed = parseLine(line);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record.status).toBe(200);
    expect(parsed.record.upstreamStatuses).toEqual([200]);
    expect(parsed.record.path).toBe(`/${'"'.repeat(uriBytes - 1)}`);
    expect(parsed.record.method).toBe(method);
  });
});
