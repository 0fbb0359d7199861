// `npm run bench [name ...]`: runs each benchmark in its own Node process, one
// after another, so one's heap and JIT state cannot colour the next's figures.
// Each prints its table and writes bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = ['core', 'source', 'latency', 'proxy'] as const;

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(BENCHES as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHES.join(', ')}`);
  process.exit(2);
}
const chosen = asked.length > 0 ? asked : [...BENCHES];

const failed: string[] = [];
for (const [i, name] of chosen.entries()) {
  const file = fileURLToPath(new URL(`./${name}.bench.js`, import.meta.url));
  if (!existsSync(file)) {
    console.error(`bench ${name}: ${file} is missing (run through npm run bench, which compiles it)`);
    failed.push(name);
    continue;
  }
  console.log(`\n=== [${i + 1}/${chosen.length}] ${name} ===`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) {
    console.error(`bench ${name}: exited with ${run.status ?? run.signal} after ${secs} s`);
    failed.push(name);
  } else {
    console.log(`=== ${name} done in ${secs} s ===`);
  }
}
if (failed.length > 0) {
  console.error(`\nbenchmarks that did not complete: ${failed.join(', ')}`);
  process.exit(1);
}
