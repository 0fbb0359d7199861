// `npm run gallery` (make gallery): writes docs/alerts.md and the README's
// example failover from the watcher's own code (page.ts). test/docs/alerts.test.ts
// fails while either differs from what this writes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PAGE, README, README_END, README_START, renderGallery, withReadmeBlock } from './page.js';

/** The repository: above this file, compiled (dist/gallery/) or not. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, README))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`gallery: no repository above ${from}`);
  }
}

const root = findRoot(import.meta.dirname);
const gallery = renderGallery();

const readmePath = path.join(root, README);
const readme = withReadmeBlock(readFileSync(readmePath, 'utf8'), gallery.readme);
if (readme === undefined) {
  process.stderr.write(`gallery: ${README} has no ${README_START} … ${README_END} block to write the example into\n`);
  process.exit(1);
}
for (const [file, text] of [[PAGE, gallery.page], [README, readme]] as const) {
  const full = path.join(root, file);
  const before = readFileSync(full, { encoding: 'utf8', flag: 'a+' });
  if (before === text) {
    process.stdout.write(`${file}: up to date\n`);
    continue;
  }
  writeFileSync(full, text);
  process.stdout.write(`${file}: written\n`);
}
