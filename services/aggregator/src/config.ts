import { z } from 'zod';
import cron from 'node-cron';
import {
  cassandraEnv,
  durationMs,
  elasticsearchEnv,
  httpEnv,
  loggingEnv,
  nonNegativeInt,
  parseConfig,
  positiveInt,
  schemaEnv,
  serviceConfigSchema,
} from '@clickstream/config';

/** Seconds in a day: the *_DAYS variables in the units Cassandra's TTLs and the run's clock take. */
export const DAY_S = 86_400;

/**
 * The shortest lease: a 1 s lease failed every run (Cassandra's TTL counts whole seconds, so a cell
 * written late in a second lives barely longer than the renewal every third of the lease).
 */
export const MIN_LEASE_TTL_MS = 3_000;

/** Every environment variable the aggregator reads, with defaults and descriptions. */
export const aggregatorEnvShape = {
  ...loggingEnv,
  ...httpEnv(8082),
  ...cassandraEnv,
  ...schemaEnv,
  ...elasticsearchEnv,
  AGGREGATOR_SCHEDULE: z
    .string()
    .default('* * * * *')
    .refine((expression) => cron.validate(expression), 'not a valid node-cron expression')
    .describe('node-cron expression of the runs (a run never overlaps the previous one)'),
  AGGREGATOR_ALLOWED_LATENESS_MS: nonNegativeInt(600_000).describe(
    'how long after its end (plus the 30-minute look-ahead) a window stays not final',
  ),
  AGGREGATOR_LEASE_TTL_MS: durationMs(120_000, {
    min: MIN_LEASE_TTL_MS,
    why: `at least ${MIN_LEASE_TTL_MS} ms: Cassandra counts a TTL in whole seconds, and a renewal every third of the lease must come back before it ends`,
  }).describe('lease that keeps a second replica from running at the same time; renewed during a run (at least 3000)'),
  AGGREGATOR_MAX_EVENTS_IN_MEMORY: positiveInt(250_000).describe(
    'events held at once by the hour reads together (each of the parallel reads its share; a bigger hour alone the whole), an event counting 1 plus 1 per 256 characters of its ids and url_key; an hour bigger than this is read in slices of its users (memory: about 300 bytes per event)',
  ),
  AGGREGATOR_MAX_GROUPS_IN_MEMORY: positiveInt(50_000).describe(
    "distinct (url, country) groups a day's recomputed hours hold at once, a group counting 1 plus 1 per 256 characters of its url_key; a day with more is recomputed in slices of its groups, its hours' events read once per slice (memory: about 2 KiB per group)",
  ),
  AGGREGATOR_HOUR_CONCURRENCY: positiveInt(2).describe(
    'hours aggregated in parallel within a run, sharing AGGREGATOR_MAX_EVENTS_IN_MEMORY (an hour above its share is read alone)',
  ),
  AGGREGATOR_GROUP_CONCURRENCY: positiveInt(64).describe(
    '(url, country) groups whose all-time users or document are handled in parallel within a run (each a few small Cassandra requests)',
  ),
  AGGREGATOR_NEW_GROUP_USERS_HELD: nonNegativeInt(250_000, 100_000_000).describe(
    'user ids a run holds of the (url, country) groups it found without all-time users, so that their later days add users without Cassandra look-ups (memory: about 50 bytes each; 0: look every day up)',
  ),
  AGGREGATOR_WRITE_CONCURRENCY: positiveInt(32).describe('Cassandra state writes in flight'),
  AGGREGATOR_BULK_SIZE: positiveInt(1_000, 100_000).describe('documents per Elasticsearch bulk request (at most 100000)'),
  AGGREGATOR_RETRY_ATTEMPTS: positiveInt(5).describe('attempts of a failing Cassandra/Elasticsearch call within a run'),
  AGGREGATOR_RETRY_INITIAL_DELAY_MS: durationMs(200).describe('first backoff delay of a retried call; doubles per attempt'),
  AGGREGATOR_RETRY_MAX_DELAY_MS: durationMs(10_000).describe('longest backoff delay of a retried call'),
  AGGREGATOR_SHUTDOWN_TIMEOUT_MS: durationMs(20_000).describe('longest wait for a running pass on SIGTERM'),
  AGGREGATOR_EVENTS_TTL_DAYS: nonNegativeInt(0, 7_300).describe(
    'retention of raw events (Cassandra TTL from when each is written; 0 keeps them forever); older hours are no longer recomputed',
  ),
  AGGREGATOR_USER_STATE_TTL_DAYS: nonNegativeInt(0, 7_300).describe(
    'retention of per-user aggregation state (hour user sets, all-time user sets; 0 keeps it forever)',
  ),
  AGGREGATOR_HOUR_DOCUMENTS_RETENTION_DAYS: nonNegativeInt(0, 7_300).describe(
    'hour documents whose window started longer ago are deleted by each run (0 keeps them forever)',
  ),
  ELASTICSEARCH_SHARDS: positiveInt(1).describe('primary shards of a new metrics index (an existing one keeps its own)'),
  ELASTICSEARCH_REPLICAS: nonNegativeInt(0, 100).describe(
    'replicas of the metrics index, set on the existing one too wherever it is installed (npm run migrate, a start with MIGRATE_ON_START)',
  ),
};

/**
 * What is wrong with the per-user state TTL beside the events' TTL (days; 0: for ever), or
 * undefined. A day's unique users are the union of its hours' user sets, each living the per-user
 * TTL from when it was written: at the earliest 24 hours before its hour starts (events may be
 * dated up to 24 hours ahead), and not again while its users stay the same. A late event for the
 * day's last hour is recomputed until that hour leaves the events' retention, 23 hours after its
 * first hour did: the first hour's users must still be there then, or the day counts fewer users.
 */
function userStateTtlProblem(eventsDays: number, usersDays: number): string | undefined {
  if (usersDays === 0) return undefined;
  if (eventsDays === 0) return 'must be 0 while AGGREGATOR_EVENTS_TTL_DAYS is 0: events kept for ever can be recomputed at any time';
  if (usersDays < eventsDays + 2)
    return `must be 0 or at least AGGREGATOR_EVENTS_TTL_DAYS + 2 (${eventsDays + 2}): a day can be recomputed near the end of the events' retention`;
  return undefined;
}

export const aggregatorConfigSchema = serviceConfigSchema(aggregatorEnvShape).superRefine((config, ctx) => {
  const problem = userStateTtlProblem(config.AGGREGATOR_EVENTS_TTL_DAYS, config.AGGREGATOR_USER_STATE_TTL_DAYS);
  if (problem !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['AGGREGATOR_USER_STATE_TTL_DAYS'],
      message: `${problem}, and a recomputed day needs the user sets of all its hours`,
    });
});
export type AggregatorConfig = Readonly<z.output<typeof aggregatorConfigSchema>>;

/** Parses and freezes the aggregator configuration; throws ConfigError naming the wrong variables. */
export function loadAggregatorConfig(env: Record<string, string | undefined>): AggregatorConfig {
  return parseConfig(aggregatorConfigSchema, env);
}
