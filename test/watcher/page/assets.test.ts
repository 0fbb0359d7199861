// The page and its files: served from memory with the right types, entity
// tags and security headers; bad paths and methods refused; nothing loaded
// from anywhere but the watcher; a missing file fails the start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.js';
import { startHttpServer, type HttpServer } from '../../../watcher/operator/server.js';
import { createStatusPage, type PageSeries, type PageStatus, type StatusPage } from '../../../watcher/page/index.js';
import { rawHttp } from '../../support/rawHttp.js';

const STATIC_DIR = new URL('../../../watcher/page/static/', import.meta.url);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CSP = "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:";

const request = (method: string, target: string, headers = '') =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;

let server: HttpServer;
let page: StatusPage;

beforeAll(async () => {
  page = createStatusPage({
    status: () => ({}) as PageStatus,
    series: () => ({}) as PageSeries,
    logger: createLogger('test', 'silent'),
    staticDir: STATIC_DIR,
  });
  server = await startHttpServer({ port: 0, routes: page.routes, logger: createLogger('test', 'silent') });
});
afterAll(async () => {
  page.close();
  await server.close();
});

describe('status page assets', () => {
  it.each([
    ['/', 'text/html; charset=utf-8', 'index.html'],
    ['/assets/page.js', 'text/javascript; charset=utf-8', 'page.js'],
    ['/assets/page.css', 'text/css; charset=utf-8', 'page.css'],
  ])('serves %s as %s with the security headers', async (path, type, file) => {
    const reply = await rawHttp(server.port, request('GET', path));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(type);
    expect(reply.headers['content-security-policy']).toBe(CSP);
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(reply.body).toBe(readFileSync(new URL(file, STATIC_DIR), 'latin1'));
  });

  it.each([
    ['/assets/uPlot.iife.min.js', 'text/javascript; charset=utf-8', 'node_modules/uplot/dist/uPlot.iife.min.js'],
    ['/assets/uPlot.min.css', 'text/css; charset=utf-8', 'node_modules/uplot/dist/uPlot.min.css'],
  ])('serves uPlot: %s', async (path, type, file) => {
    const reply = await rawHttp(server.port, request('GET', path));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(type);
    expect(reply.body).toBe(readFileSync(join(ROOT, file), 'latin1'));
  });

  it('answers 304 to a matching If-None-Match, and the whole file to a stale one', async () => {
    const first = await rawHttp(server.port, request('GET', '/assets/page.js'));
    const etag = first.headers['etag']!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await rawHttp(server.port, request('GET', '/assets/page.js', `If-None-Match: "old", ${etag}\r\n`));
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['etag']).toBe(etag);
    const stale = await rawHttp(server.port, request('GET', '/assets/page.js', 'If-None-Match: "old"\r\n'));
    expect(stale.status).toBe(200);
    // Each file has its own tag.
    expect((await rawHttp(server.port, request('GET', '/assets/page.css'))).headers['etag']).not.toBe(etag);
  });

  it('answers HEAD with the headers only', async () => {
    const reply = await rawHttp(server.port, request('HEAD', '/'));
    expect(reply.status).toBe(200);
    expect(Number(reply.headers['content-length'])).toBe(readFileSync(new URL('index.html', STATIC_DIR)).length);
    expect(reply.body).toBe('');
  });

  it('answers 404 to an unknown path and 405 to another method', async () => {
    expect((await rawHttp(server.port, request('GET', '/assets/nope'))).status).toBe(404);
    expect((await rawHttp(server.port, request('GET', '/assets/'))).status).toBe(404);
    for (const path of ['/', '/events', '/assets/page.js']) {
      const reply = await rawHttp(server.port, request('POST', path));
      expect(reply.status).toBe(405);
      expect(reply.headers['allow']).toBe('GET, HEAD');
    }
  });

  it('loads nothing from elsewhere: only /assets/ paths, no URL with a scheme, no inline script or style', () => {
    const html = readFileSync(new URL('index.html', STATIC_DIR), 'utf8');
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs).toEqual(['data:,', '/assets/uPlot.min.css', '/assets/page.css', '/assets/uPlot.iife.min.js', '/assets/page.js']);
    expect(html).not.toMatch(/<style|\sstyle=|\son\w+=|<script>/i);
    for (const file of readdirSync(STATIC_DIR)) {
      expect(readFileSync(new URL(file, STATIC_DIR), 'utf8'), file).not.toMatch(/https?:\/\/|url\(|@import/i);
    }
  });

  it('puts text into the page with textContent, never as markup', () => {
    const js = readFileSync(new URL('page.js', STATIC_DIR), 'utf8');
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('fails to start, naming the file, when a file is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'page-static-'));
    try {
      expect(() =>
        createStatusPage({
          status: () => ({}) as PageStatus,
          series: () => ({}) as PageSeries,
          logger: createLogger('test', 'silent'),
          staticDir: pathToFileURL(`${empty}/`),
        }),
      ).toThrow(`status page asset missing: ${join(empty, 'index.html')}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('finds its files from the compiled module, as the daemon runs it', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('./dist/watcher/page/assets.js'); console.log(Object.keys(m.assetRoutes()).join(' '))"],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('/ /assets/page.js /assets/page.css /assets/uPlot.iife.min.js /assets/uPlot.min.css');
  });
});
