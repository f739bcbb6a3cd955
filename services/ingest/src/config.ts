import { z } from 'zod';
import {
  cassandraEnv,
  durationMs,
  httpEnv,
  kafkaEnv,
  kafkaTopicCreationEnv,
  kafkaTopicName,
  loggingEnv,
  nonBlankString,
  optionalString,
  parseConfig,
  positiveInt,
  schemaEnv,
  serviceConfigSchema,
} from '@clickstream/config';
import { IP_POLICIES } from '@clickstream/enrichment';

/** Every environment variable the ingest service reads, with defaults and descriptions. */
export const ingestEnvShape = {
  ...loggingEnv,
  ...httpEnv(8081),
  ...kafkaEnv,
  KAFKA_DLQ_TOPIC: kafkaTopicName().default('clickstream-dlq').describe('dead-letter topic for invalid events (not KAFKA_TOPIC)'),
  KAFKA_GROUP_ID: nonBlankString().default('clickstream-ingest').describe('consumer group of the ingest replicas'),
  ...kafkaTopicCreationEnv,
  ...cassandraEnv,
  ...schemaEnv,
  GEODATADIR: optionalString().describe(
    "folder of geoip-lite's database (what npm run geoip:update writes); unset = the one the package ships. geoip-lite itself reads it when it loads",
  ),
  INGEST_IP_POLICY: z
    .enum(IP_POLICIES)
    .default('truncated')
    .describe('IP stored with the event: full, truncated (IPv4 /24, IPv6 /48) or none'),
  INGEST_WRITE_CONCURRENCY: positiveInt(64).describe('Cassandra write statements in flight over the whole process'),
  INGEST_WRITE_BATCH_MAX_BYTES: positiveInt(24_576).describe(
    "largest unlogged batch of one partition's rows, in bytes of values (keep under Cassandra's batch_size_warn_threshold, 64 KiB here)",
  ),
  INGEST_WRITE_BATCH_MAX_ROWS: positiveInt(100).describe('most rows in one unlogged batch'),
  INGEST_PARTITIONS_CONCURRENTLY: positiveInt(6).describe('Kafka partitions whose batches are processed at the same time'),
  INGEST_BATCHES_IN_FLIGHT: positiveInt(8).describe(
    'batches being written at once over all partitions; the next batches are fetched and processed meanwhile, offsets still commit in order after each batch is durable',
  ),
  INGEST_BATCH_MAX_MESSAGES: positiveInt(2_000).describe(
    'most messages in one batch (fetched batches with more, as compressed ones can be, are processed in parts): with INGEST_BATCHES_IN_FLIGHT it bounds the events in memory',
  ),
  INGEST_FETCH_MAX_BYTES_PER_PARTITION: positiveInt(524_288).describe(
    'most bytes one fetch takes from one partition (the size of a batch)',
  ),
  INGEST_FETCH_MAX_BYTES: positiveInt(4_194_304).describe(
    'most bytes one fetch takes over all partitions (bounds the memory of fetched, not yet processed batches)',
  ),
  INGEST_RETRY_ATTEMPTS: positiveInt(8).describe('attempts of a failing Cassandra/Kafka write before the service exits without committing'),
  INGEST_RETRY_INITIAL_DELAY_MS: durationMs(200).describe('first backoff delay; doubles per attempt'),
  INGEST_RETRY_MAX_DELAY_MS: durationMs(10_000).describe('longest backoff delay'),
  INGEST_UA_CACHE_SIZE: positiveInt(10_000).describe('parsed user agents kept in the LRU cache'),
  INGEST_SHUTDOWN_TIMEOUT_MS: durationMs(20_000).describe(
    'longest wait for the in-flight batches on SIGTERM before abandoning them (uncommitted)',
  ),
  INGEST_STORE_STALL_MS: durationMs(3_000).describe('/readyz turns 503 once a Cassandra write has not returned for this long'),
  INGEST_PROGRESS_STALL_MS: durationMs(300_000).describe(
    '/healthz turns 503 when the lag stayed above 0 with no offset committed for this long (a wedged consumer)',
  ),
  INGEST_LAG_POLL_INTERVAL_MS: durationMs(5_000).describe('how often the consumer lag of the owned partitions is read from the brokers'),
};

export const ingestConfigSchema = serviceConfigSchema(ingestEnvShape);
export type IngestConfig = Readonly<z.output<typeof ingestConfigSchema>>;

/** Parses and freezes the ingest configuration; throws ConfigError naming the wrong variables. */
export function loadIngestConfig(env: Record<string, string | undefined>): IngestConfig {
  return parseConfig(ingestConfigSchema, env);
}
