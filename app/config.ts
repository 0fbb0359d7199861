import { z } from 'zod';
import { envInt, logLevel, poolName } from '../common/config.js';

export const appSchema = z.object({
  APP_POOL: poolName.default('blue'),
  // Sent in the X-Release-Id header of every response, so it must be a legal
  // header value: a bad one would otherwise fail each response, not the start.
  RELEASE_ID: z
    .string()
    .regex(/^[\x20-\x7e]+$/, { message: 'expected printable ASCII (it is sent as a header)' })
    .default('dev'),
  PORT: envInt(1, 65_535).default(3000),
  CHAOS_HOLD_MS: envInt(1, 600_000).default(30_000),
  SHUTDOWN_TIMEOUT_MS: envInt(1, 600_000).default(5000),
  LOG_LEVEL: logLevel,
  // Optional: when set, /chaos/* answers only requests with
  // `Authorization: Bearer <CHAOS_TOKEN>`. RFC 6750 token characters only (it
  // travels in a header), long enough not to be guessed.
  CHAOS_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~+/-]{16,512}=*$/, {
      message: 'expected 16 to 512 characters from A-Z a-z 0-9 . _ ~ + / - (a bearer token)',
    })
    .optional(),
});

/** Never logged: config errors say only that a value was given, the effective config shows it redacted. */
export const APP_SECRETS = ['CHAOS_TOKEN'] as const;

export type AppConfig = z.output<typeof appSchema>;
