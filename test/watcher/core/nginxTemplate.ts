// Reads what the watcher depends on out of Nginx's own config template, so
// tests check the watcher against the file that ships, not a copy of it.
import { readFileSync } from 'node:fs';

export const TEMPLATE_PATH = 'nginx/templates/default.conf.template';

export function readTemplate(): string {
  return readFileSync(TEMPLATE_PATH, 'utf8');
}

/** The `log_format bluegreen` string: its single-quoted pieces joined, as Nginx joins them. */
export function logFormat(template: string): string {
  const directive = /^log_format\s+bluegreen\b[^']*((?:'[^']*'\s*)+);/m.exec(template);
  if (directive === null) throw new Error(`no "log_format bluegreen" in ${TEMPLATE_PATH}`);
  return [...(directive[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]).join('');
}

/** The keys of the format's key=value pairs, in order. */
export function formatKeys(format: string): string[] {
  return [...format.matchAll(/(?:^| )([a-z_]+)=/g)].map((m) => m[1] as string);
}

/** The format with every `$variable` replaced by `values[variable]`; throws on one it lacks. */
export function renderLine(format: string, values: Record<string, string>): string {
  return format.replace(/\$([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for $${name} of the log format`);
    return value;
  });
}

/** Bytes of an Nginx size ("8k", "1m", "512"). */
export function nginxSize(size: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(size);
  if (m === null) throw new Error(`not an Nginx size: ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 * 1024 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** The arguments of the one top-level (unindented) `name` directive in the template. */
export function directive(template: string, name: string): string[] {
  const found = [...template.matchAll(new RegExp(`^${name}\\s+([^;]+);`, 'gm'))];
  if (found.length !== 1) throw new Error(`expected one top-level "${name}" in ${TEMPLATE_PATH}, found ${found.length}`);
  return (found[0]?.[1] ?? '').trim().split(/\s+/);
}
