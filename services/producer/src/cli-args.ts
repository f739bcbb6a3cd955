import { parseArgs } from 'node:util';
import { z } from 'zod';

const HOUR_MS = 3_600_000;

export const DEFAULT_COUNT = 10_000;
/** Fixed so that two runs with the same flags send the same clicks. */
export const DEFAULT_SEED = 1;
export const DEFAULT_SPAN_HOURS = 24;

/** What one producer run sends; every field is resolved (no defaults left to apply). */
export interface ProducerRunOptions {
  /** Messages to send: valid, duplicate and invalid together. */
  readonly count: number;
  /** Target messages per second; null = as fast as Kafka takes them. */
  readonly ratePerSec: number | null;
  readonly seed: number;
  /** Share of messages that break the event contract, 0..1. */
  readonly invalidRatio: number;
  /** Share of messages that re-send a recent valid message verbatim, 0..1. */
  readonly duplicateRatio: number;
  /** Event times fall in [startMs, startMs + spanMs). */
  readonly startMs: number;
  readonly spanMs: number;
  /** The clock the generator's "future timestamp" invalid messages are relative to. */
  readonly nowMs: number;
  /** Distinct human users; null = the generator's default (3,000). */
  readonly users: number | null;
  /** Topic to write to; null = KAFKA_TOPIC. */
  readonly topic: string | null;
}

export type CliParseResult =
  | { readonly kind: 'run'; readonly options: ProducerRunOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

export const USAGE = `Usage: npm run produce -- [options]

Sends seeded synthetic clicks (the event contract v2, README) to Kafka, keyed by user id.

Options:
  --count N              messages to send (default ${DEFAULT_COUNT})
  --rate R               messages per second, may be fractional (default: unlimited)
  --seed S               integer seed; the same flags send the same clicks (default ${DEFAULT_SEED})
  --invalid-ratio F      share of messages that break the contract, 0..1 (default 0)
  --duplicate-ratio F    share of messages re-sending a recent valid one, 0..1 (default 0)
  --span-hours H         event times cover the H hours before now (default ${DEFAULT_SPAN_HOURS})
  --users U              distinct human users (default 3000)
  --topic T              topic to write to (default: KAFKA_TOPIC, 'clickstream')
  -h, --help             print this text

Environment: KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, LOG_LEVEL; when the topic is missing, it is created as
ingest creates it: KAFKA_TOPIC_PARTITIONS, KAFKA_TOPIC_REPLICATION_FACTOR, KAFKA_TOPIC_MIN_INSYNC_REPLICAS.
Exit codes: 0 done, 1 configuration or Kafka failure, 2 bad flags, 130/143 stopped by SIGINT/SIGTERM.`;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

const wholeNumber = (min: number, minMessage: string) =>
  z
    .string()
    .trim()
    .regex(INTEGER, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, minMessage).max(Number.MAX_SAFE_INTEGER, 'is too large'));

const decimal = () => z.string().trim().regex(DECIMAL, 'must be a number').transform(Number).refine(Number.isFinite, 'is too large');

const ratio = () => decimal().pipe(z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'));

// Keys are the flag names, so an issue's path names the flag the user typed.
const flagsSchema = z.object({
  count: wholeNumber(1, 'must be at least 1').optional(),
  rate: decimal().pipe(z.number().positive('must be greater than 0')).optional(),
  seed: wholeNumber(Number.MIN_SAFE_INTEGER, 'is too small').optional(),
  'invalid-ratio': ratio().optional(),
  'duplicate-ratio': ratio().optional(),
  'span-hours': decimal()
    .pipe(z.number().positive('must be greater than 0'))
    .refine((hours) => Math.round(hours * HOUR_MS) >= 1, 'must be at least one millisecond')
    .optional(),
  users: wholeNumber(1, 'must be at least 1').optional(),
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)')
    .optional(),
});

/**
 * Parses the producer's command-line flags (`process.argv.slice(2)`). Pure: `nowMs` is the clock
 * the event-time range ends at. Never throws for bad input: returns `{ kind: 'error' }` with a
 * message naming the flag, for the caller to print with {@link USAGE} and exit 2.
 */
export function parseCliArgs(argv: readonly string[], nowMs: number): CliParseResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        count: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        'invalid-ratio': { type: 'string' },
        'duplicate-ratio': { type: 'string' },
        'span-hours': { type: 'string' },
        users: { type: 'string' },
        topic: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs throws TypeErrors (ERR_PARSE_ARGS_*) with a readable message for unknown flags and missing values.
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (values.help === true) return { kind: 'help' };

  const { help: _help, ...flags } = values;
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) => {
        const flag = String(issue.path[0] ?? '');
        const given = flags[flag];
        return `--${flag} ${issue.message}${typeof given === 'string' ? ` (got "${given}")` : ''}`;
      })
      .join('; ');
    return { kind: 'error', message };
  }
  const f = parsed.data;
  const invalidRatio = f['invalid-ratio'] ?? 0;
  const duplicateRatio = f['duplicate-ratio'] ?? 0;
  if (invalidRatio + duplicateRatio > 1) {
    return { kind: 'error', message: `--invalid-ratio plus --duplicate-ratio must not exceed 1 (got ${invalidRatio} + ${duplicateRatio})` };
  }
  const spanMs = Math.round((f['span-hours'] ?? DEFAULT_SPAN_HOURS) * HOUR_MS);
  return {
    kind: 'run',
    options: {
      count: f.count ?? DEFAULT_COUNT,
      ratePerSec: f.rate ?? null,
      seed: f.seed ?? DEFAULT_SEED,
      invalidRatio,
      duplicateRatio,
      startMs: nowMs - spanMs,
      spanMs,
      nowMs,
      users: f.users ?? null,
      topic: f.topic ?? null,
    },
  };
}
