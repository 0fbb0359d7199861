// Configuration loading shared by every program: one zod schema per program,
// validated once at start, with bad values reported one line per problem.
import dotenv from 'dotenv';
import { z } from 'zod';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';

export type Env = Record<string, string | undefined>;

export type ConfigResult<T> = { ok: true; config: T } | { ok: false; problems: string[] };

// Building blocks for env schemas. Env values are strings; these coerce and
// bound them so the error message names the accepted range.
// Plain decimal digits only: Number() would also take 0x10, 1e3 or 0b1, which
// no one means in a timeout or a port.
export const envInt = (min: number, max: number) => {
  const range = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^[+-]?\d+$/, { message: range })
    .transform(Number)
    .pipe(z.number().min(min, { message: range }).max(max, { message: range }));
};
export const envBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
    message: 'expected true or false',
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
export const poolName = z.enum(['blue', 'green'], { message: 'expected "blue" or "green"' });

/**
 * Validates `env` against `schema`. Empty strings count as unset, so Compose's
 * `${VAR:-}` pass-through falls back to the schema default instead of failing.
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  env: Env,
  secrets: readonly string[] = [],
): ConfigResult<z.output<S>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(config)';
    const raw = input[key];
    const got =
      // JSON quoting keeps a value with a newline or quote on one line.
      raw === undefined ? '' : secrets.includes(key) ? ' (got a value, hidden)' : ` (got ${JSON.stringify(raw)})`;
    return `${key}: ${issue.message}${got}`;
  });
  return { ok: false, problems };
}

/** A copy of `config` fit for a log line: secret values keep only their scheme and host. */
export function redactConfig(
  config: Record<string, unknown>,
  secrets: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const secret = secrets.includes(key) && value !== undefined;
    out[key] = !secret ? value : Array.isArray(value) ? value.map(redactSecret) : redactSecret(value);
  }
  return out;
}

/**
 * Removes a secret URL (a webhook, a ping URL: the path is the secret) from
 * text that may quote it, such as an HTTP client's error message.
 */
export function secretUrlScrubber(secret: string): (text: string) => string {
  const url = new URL(secret);
  return (text) => {
    const withoutUrl = text.split(secret).join(`${url.origin}/[redacted]`);
    return url.pathname.length > 1 ? withoutUrl.split(url.pathname).join('/[redacted]') : withoutUrl;
  };
}

function redactSecret(value: unknown): string {
  try {
    const url = new URL(String(value));
    return `${url.protocol}//${url.host}/[redacted]`;
  } catch {
    return '[redacted]';
  }
}

export interface LoadOptions<S extends z.ZodObject> {
  service: string;
  schema: S;
  secrets?: readonly string[];
  env?: Env;
}

/**
 * Reads `.env` (if any) and the environment, validates it, and returns the
 * config with a logger. Invalid config: one `config error:` line per problem on
 * stderr, then exit 1, so a bad deploy fails at once and says why.
 */
export function loadConfig<S extends z.ZodObject>(
  options: LoadOptions<S>,
): { config: z.output<S>; logger: Logger } {
  const secrets = options.secrets ?? [];
  let env = options.env;
  if (!env) {
    dotenv.config({ quiet: true });
    env = process.env;
  }
  const result = parseConfig(options.schema, env, secrets);
  if (!result.ok) {
    for (const problem of result.problems) {
      process.stderr.write(`${options.service}: config error: ${problem}\n`);
    }
    process.exit(1);
  }
  const config = result.config;
  const level = typeof config.LOG_LEVEL === 'string' ? config.LOG_LEVEL : 'info';
  const logger = createLogger(options.service, level);
  logger.info({ config: redactConfig(config, secrets) }, 'effective configuration');
  return { config, logger };
}
