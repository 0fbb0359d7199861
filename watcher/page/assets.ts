// The status page's files, read once at start (about 60 KB in all) and served
// from memory: the page works with no network beyond the watcher, and a file
// missing from the image fails the start instead of the first visit.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Handler } from '../operator/server.js';

/**
 * The page's own files. The module runs as dist/watcher/page/assets.js, in
 * the repo and in the image (/app/dist/...), next to the static folder's
 * place three levels up.
 */
export const STATIC_DIR = new URL('../../../watcher/page/static/', import.meta.url);

/**
 * What the page may load: its own scripts and styles only. uPlot sets style
 * properties from script (allowed); the page has no inline style or script.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const STATIC_FILES: Array<[route: string, file: string, type: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/assets/page.js', 'page.js', 'text/javascript; charset=utf-8'],
  ['/assets/page.css', 'page.css', 'text/css; charset=utf-8'],
];

function load(path: string, type: string): Asset {
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch (err) {
    throw new Error(`status page asset missing: ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Whether an If-None-Match header names this entity tag (or is `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function serve(asset: Asset): Handler {
  const headers = { ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag: asset.etag };
  return (req, res) => {
    if (matches(req.headers['if-none-match'], asset.etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    res.writeHead(200, { ...headers, 'content-type': asset.type, 'content-length': String(asset.body.length) });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };
}

/** The page's routes: `/`, its script and style, and uPlot's; throws, naming the file, when one is missing. */
export function assetRoutes(staticDir: URL = STATIC_DIR): Record<string, Handler> {
  const require = createRequire(import.meta.url);
  const files: Array<[route: string, path: string, type: string]> = [
    ...STATIC_FILES.map(([route, file, type]): [string, string, string] => [route, fileURLToPath(new URL(file, staticDir)), type]),
    ['/assets/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/assets/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return Object.fromEntries(files.map(([route, path, type]) => [route, serve(load(path, type))]));
}
