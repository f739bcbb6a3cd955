import { pino, stdTimeFunctions } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Log levels accepted by LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The one root logger of a process: pino JSON lines on stdout with `service`, `level` (as a label),
 * `time` (ISO-8601) and `msg`. Credentials that might end up in a log object are redacted.
 */
export function createLogger(options: { service: string; level: LogLevel; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['password', '*.password', 'apiKey', '*.apiKey', 'sasl', '*.sasl', 'authorization', '*.authorization'],
        censor: '[redacted]',
      },
    },
    options.destination ?? process.stdout,
  );
}
