import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs, one object per line, with ISO timestamps and textual levels so
 * `docker compose logs | jq` reads them without a pino-specific tool.
 * Fields that could carry a webhook URL are censored as a second line of
 * defence; code should never log them in the first place.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination?: DestinationStream,
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
