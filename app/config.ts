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
});

export type AppConfig = z.output<typeof appSchema>;
