/**
 * `npm run migrate`: creates or updates what the services need before they run, then exits:
 * the Cassandra keyspace and tables (and the earlier releases' aggregator lease closed to them),
 * ingest's Kafka topics, and the Elasticsearch template, index and alias. Idempotent. Run it once
 * per release (a Kubernetes Job, a compose one-shot); the services can then run with
 * MIGRATE_ON_START=false and no DDL rights. Reads the services' own configuration (the same
 * variables). Exit 0 when everything is in place, 1 otherwise; every line it logs is JSON, a
 * configuration error included.
 */
import { cassandraConnectionOf, connectCassandra, ensureSchema } from '@clickstream/cassandra';
import { ConfigError, parseCommandLine } from '@clickstream/config';
import { createElasticsearchClient, elasticsearchConnectionOf, installMetricsIndex } from '@clickstream/elasticsearch';
import { createKafkaClient, kafkaConnectionOf } from '@clickstream/kafka';
import { createLogger, LOG_LEVELS } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import { loadAggregatorConfig } from '../services/aggregator/src/config.ts';
import { closeEarlierLeases, metricsIndexOptions, retryPolicyOf, schemaOptions } from '../services/aggregator/src/store-setup.ts';
import { loadIngestConfig } from '../services/ingest/src/config.ts';
import { ensureIngestTopics } from '../services/ingest/src/topic-specs.ts';

/** Runs every migration; resolves when all are in place, rejects with the first failure. */
export async function migrate(env: Record<string, string | undefined>, logger: Logger): Promise<void> {
  const ingest = loadIngestConfig(env);
  const aggregator = loadAggregatorConfig(env);
  const cassandra = await connectCassandra(cassandraConnectionOf(aggregator), logger);
  try {
    await ensureSchema(cassandra, aggregator.CASSANDRA_REPLICATION, schemaOptions(aggregator, logger));
    // Before any aggregator of this release starts: from here on no earlier one runs (README, upgrading).
    await closeEarlierLeases(cassandra, retryPolicyOf(aggregator), logger);
    logger.info({ keyspace: aggregator.CASSANDRA_KEYSPACE }, 'cassandra schema in place');
  } finally {
    await cassandra.shutdown();
  }
  const created = await ensureIngestTopics(createKafkaClient(kafkaConnectionOf(ingest), logger), ingest, logger);
  logger.info({ topics: [ingest.KAFKA_TOPIC, ingest.KAFKA_DLQ_TOPIC], created }, 'kafka topics in place');
  const elasticsearch = createElasticsearchClient(elasticsearchConnectionOf(aggregator), logger);
  try {
    const names = await installMetricsIndex(elasticsearch, metricsIndexOptions(aggregator));
    logger.info({ alias: names.alias, index: names.index }, 'elasticsearch template, index and alias in place');
  } finally {
    await elasticsearch.close();
  }
}

if (import.meta.main) {
  parseCommandLine({}, 'usage: npm run migrate   (no arguments; the environment variables of the services say what to migrate)');
  // The logger comes before the configuration is read: a LOG_LEVEL that is no level logs at info,
  // and the configuration's check then names it.
  const level = LOG_LEVELS.find((known) => known === process.env.LOG_LEVEL) ?? 'info';
  const logger = createLogger({ service: 'migrate', level });
  try {
    await migrate(process.env, logger);
    logger.info('migrations done');
  } catch (err) {
    if (err instanceof ConfigError) logger.fatal({ code: err.code, variables: err.variables }, err.message);
    else logger.fatal({ err }, 'migration failed');
    process.exitCode = 1;
  }
  // The drivers may keep timers alive; everything is closed by now.
  setTimeout(() => process.exit(), 1_000).unref();
}
