// Every benchmark ends the same way: a table a person reads at a glance, and
// the same figures as JSON in bench/results/<name>.json for a machine to compare.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const RESULTS_DIR = new URL('../../../bench/results/', import.meta.url);

export type Cell = string | number | boolean | undefined;
export type Row = Record<string, Cell>;

/** A target the figure is judged against; `met` decides the ✔/✘ in the table. */
export interface Verdict {
  metric: string;
  value: Cell;
  target: string;
  met: boolean;
}

/** Prints `rows` as an aligned table under `title`. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log('  (no rows)');
    return;
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = (v: Cell) => (v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`;
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => text(row[c]))));
}

export function printVerdicts(verdicts: readonly Verdict[]): void {
  printTable(
    'Targets',
    verdicts.map((v) => ({ metric: v.metric, value: v.value, target: v.target, result: v.met ? '✔ met' : '✘ MISSED' })),
  );
}

/**
 * Writes `figures` (plus the machine they were measured on) to
 * bench/results/<name>.json, or to `file` when given; returns the path.
 */
export function writeResults(name: string, figures: object, file?: string): string {
  const url = file === undefined ? new URL(`${name}.json`, RESULTS_DIR) : pathToFileURL(resolve(file));
  mkdirSync(new URL('.', url), { recursive: true });
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' };
  writeFileSync(url, `${JSON.stringify({ name, measuredAt: new Date().toISOString(), machine, ...figures }, null, 2)}\n`);
  const path = fileURLToPath(url);
  console.log(`\nwrote ${path}`);
  return path;
}

/** Thousands separators for counts, three significant decimals for small figures. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
