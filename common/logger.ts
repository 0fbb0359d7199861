import { destination as pinoDestination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs, one object per line, with ISO timestamps and textual levels so
 * `docker compose logs | jq` reads them without a pino-specific tool.
 * Fields that could carry a webhook URL are censored as a second line of
 * defence; code should never log them in the first place.
 *
 * Writes to stdout synchronously: both programs end with process.exit after
 * a graceful stop, and pino's default asynchronous stream could lose the last
 * lines ("stopped", a final delivery) in its exit-time flush. Our volume (one
 * line per request or alert) does not need the asynchronous buffer.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination: DestinationStream = pinoDestination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['webhookUrl', '*.webhookUrl'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
