// A log writer in its own process, the way Nginx writes: numbered lines at a
// steady rate through an O_APPEND descriptor, with a rename rotation (the
// writer keeps the old file until it "reopens", as Nginx does until
// `nginx -s reopen`) and a copy-truncate (logrotate's copytruncate) at given
// times. Prints, as JSON, the sequence numbers at which each happened.
// Usage: node rotatingWriter.mjs <path> <linesPerSec> <durationMs> <renameAtMs> <copyTruncateAtMs>
import { closeSync, copyFileSync, openSync, renameSync, truncateSync, writeSync } from 'node:fs';

const [path, rateArg, durationArg, renameArg, truncateArg] = process.argv.slice(2);
const rate = Number(rateArg);
const duration = Number(durationArg);
const REOPEN_AFTER_MS = 50;
const TICK_MS = 10;

let fd = openSync(path, 'a');
let seq = 0;
const marks = {};
const start = Date.now();
const line = (n) => `time=${new Date().toISOString()} rid=${n} method=GET path="/version" status=200 pool="blue"\n`;

while (Date.now() - start < duration) {
  const elapsed = Date.now() - start;
  if (marks.rename === undefined && elapsed >= Number(renameArg)) {
    renameSync(path, `${path}.1`);
    marks.rename = seq;
  }
  if (marks.rename !== undefined && marks.reopen === undefined && elapsed >= Number(renameArg) + REOPEN_AFTER_MS) {
    closeSync(fd);
    fd = openSync(path, 'a');
    marks.reopen = seq;
  }
  if (marks.copyTruncate === undefined && elapsed >= Number(truncateArg)) {
    copyFileSync(path, `${path}.2`);
    truncateSync(path, 0);
    marks.copyTruncate = seq;
  }
  const due = Math.floor(((elapsed + TICK_MS) * rate) / 1000);
  let batch = '';
  while (seq < due) batch += line(seq++);
  if (batch) writeSync(fd, batch);
  await new Promise((r) => setTimeout(r, TICK_MS));
}
closeSync(fd);
process.stdout.write(`${JSON.stringify({ total: seq, ...marks })}\n`);
