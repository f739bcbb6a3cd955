import { z } from 'zod';
import { cassandraEnv, httpEnv, kafkaEnv, loggingEnv, parseConfig, positiveInt, schemaEnv, serviceConfigSchema } from '@clickstream/config';
import { IP_POLICIES } from '@clickstream/enrichment';

/** Every environment variable the ingest service reads, with defaults and descriptions. */
export const ingestEnvShape = {
  ...loggingEnv,
  ...httpEnv(8081),
  ...kafkaEnv,
  KAFKA_DLQ_TOPIC: z.string().min(1).default('clickstream-dlq').describe('dead-letter topic for invalid events'),
  KAFKA_GROUP_ID: z.string().min(1).default('clickstream-ingest').describe('consumer group of the ingest replicas'),
  KAFKA_TOPIC_PARTITIONS: positiveInt(3).describe(
    'partitions of the topics when ingest has to create them (existing topics are left alone)',
  ),
  ...cassandraEnv,
  ...schemaEnv,
  INGEST_IP_POLICY: z
    .enum(IP_POLICIES)
    .default('truncated')
    .describe('IP stored with the event: full, truncated (IPv4 /24, IPv6 /48) or none'),
  INGEST_WRITE_CONCURRENCY: positiveInt(64).describe('Cassandra writes in flight per batch'),
  INGEST_RETRY_ATTEMPTS: positiveInt(8).describe('attempts of a failing Cassandra/Kafka write before the service exits without committing'),
  INGEST_RETRY_INITIAL_DELAY_MS: positiveInt(200).describe('first backoff delay; doubles per attempt'),
  INGEST_RETRY_MAX_DELAY_MS: positiveInt(10_000).describe('longest backoff delay'),
  INGEST_UA_CACHE_SIZE: positiveInt(10_000).describe('parsed user agents kept in the LRU cache'),
  INGEST_SHUTDOWN_TIMEOUT_MS: positiveInt(20_000).describe(
    'longest wait for the in-flight batch on SIGTERM before abandoning it (uncommitted)',
  ),
};

export const ingestConfigSchema = serviceConfigSchema(ingestEnvShape);
export type IngestConfig = Readonly<z.output<typeof ingestConfigSchema>>;

/** Parses and freezes the ingest configuration; throws ConfigError naming the wrong variables. */
export function loadIngestConfig(env: Record<string, string | undefined>): IngestConfig {
  return parseConfig(ingestConfigSchema, env);
}
