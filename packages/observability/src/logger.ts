import { pino, stdSerializers, stdTimeFunctions } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Log levels accepted by LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What one logged error may hold (an Elasticsearch client error carries the whole request, a bulk
 * body of megabytes, and the connection object): longer strings are cut, longer arrays and
 * objects shortened, deeper and repeated values (cycles) named, binary data given by its size.
 */
const ERR_BOUNDS = { stringChars: 2_000, stackChars: 8_000, arrayItems: 10, objectKeys: 40, depth: 6 } as const;

function bounded(value: unknown, depth: number, seen: WeakSet<object>, chars: number = ERR_BOUNDS.stringChars): unknown {
  if (typeof value === 'string') return value.length <= chars ? value : `${value.slice(0, chars)}… (${value.length} characters)`;
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[Repeated]';
  if (depth >= ERR_BOUNDS.depth) return Array.isArray(value) ? `[${value.length} items]` : '[Object]';
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, ERR_BOUNDS.arrayItems).map((item) => bounded(item, depth + 1, seen));
    return value.length > ERR_BOUNDS.arrayItems ? [...items, `… ${value.length - ERR_BOUNDS.arrayItems} more`] : items;
  }
  const keys = Object.keys(value);
  const out: Record<string, unknown> = {};
  for (const key of keys.slice(0, ERR_BOUNDS.objectKeys)) {
    const chars = key === 'stack' || key === 'message' ? ERR_BOUNDS.stackChars : ERR_BOUNDS.stringChars;
    out[key] = bounded((value as Record<string, unknown>)[key], depth + 1, seen, chars);
  }
  if (keys.length > ERR_BOUNDS.objectKeys) out['…'] = `${keys.length - ERR_BOUNDS.objectKeys} more keys`;
  return out;
}

/**
 * The error's message followed by its causes', joined by ": " as pino joins them, each cause's
 * message unless it repeats the one just before it (the stores' transient errors keep the
 * driver's own message, which read "Socket was closed: Socket was closed"). The chain stops at a
 * cycle or at a cause that is not error-like.
 */
function messageWithCauses(err: Error): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const errorLike = (value: unknown): value is { message: string; cause?: unknown } =>
    typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
  for (let at: unknown = err; errorLike(at) && !seen.has(at); at = at.cause) {
    seen.add(at);
    if (at.message !== parts.at(-1)) parts.push(at.message);
  }
  return parts.join(': ');
}

/** pino's own error serializer (type, message and stack with their causes, own fields), bounded. */
function boundedErr(err: unknown): unknown {
  const serialized = stdSerializers.err(err as Error);
  if (err instanceof Error && serialized.message !== undefined) serialized.message = messageWithCauses(err);
  return bounded(serialized, 0, new WeakSet());
}

/**
 * The one root logger of a process: pino JSON lines on stdout with `service`, `level` (as a label),
 * `time` (ISO-8601) and `msg`. Credentials that might end up in a log object are redacted; a
 * logged `err` is bounded (see {@link ERR_BOUNDS}), so one line stays readable and shippable.
 */
export function createLogger(options: { service: string; level: LogLevel; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: boundedErr },
      redact: {
        paths: ['password', '*.password', 'apiKey', '*.apiKey', 'sasl', '*.sasl', 'authorization', '*.authorization'],
        censor: '[redacted]',
      },
    },
    options.destination ?? process.stdout,
  );
}
