/**
 * What the aggregator sets up in the stores, at its start (MIGRATE_ON_START) or through
 * `npm run migrate`: the metrics index's options, the Cassandra schema's options, and the closing
 * of earlier releases' lease; with the retry policy both use.
 */
import type { CassandraClient, SchemaOptions } from '@clickstream/cassandra';
import { retireEarlierLeases } from '@clickstream/cassandra';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import { DAY_S } from './config.ts';
import type { AggregatorConfig } from './config.ts';

/** The metrics index as `installMetricsIndex` creates it (at start, or by `npm run migrate`). */
export function metricsIndexOptions(config: AggregatorConfig): { alias: string; shards: number; replicas: number } {
  return { alias: config.ELASTICSEARCH_INDEX, shards: config.ELASTICSEARCH_SHARDS, replicas: config.ELASTICSEARCH_REPLICAS };
}

/** How the aggregator retries a transient failure (AGGREGATOR_RETRY_*). */
export function retryPolicyOf(config: AggregatorConfig): RetryPolicy {
  return {
    attempts: config.AGGREGATOR_RETRY_ATTEMPTS,
    initialDelayMs: config.AGGREGATOR_RETRY_INITIAL_DELAY_MS,
    maxDelayMs: config.AGGREGATOR_RETRY_MAX_DELAY_MS,
  };
}

/**
 * Closes the earlier releases' aggregator lease to them (see `retireEarlierLeases`), retrying
 * transient failures: right after a node is lost, Paxos rounds time out until it is marked down.
 */
export async function closeEarlierLeases(cassandra: CassandraClient, retry: RetryPolicy, logger: Logger): Promise<void> {
  await retryWithBackoff("closing the earlier releases' lease", () => retireEarlierLeases(cassandra, logger), retry, {
    onRetry: (err, attempt, delayMs) => logger.warn({ err, attempt, delayMs }, "closing the earlier releases' lease failed, retrying"),
  });
}

/** The Cassandra schema's options that follow the configuration (at start, or by `npm run migrate`), with the state upgrades. */
export function schemaOptions(config: AggregatorConfig, logger: Logger): SchemaOptions {
  return {
    eventsTtlSeconds: config.AGGREGATOR_EVENTS_TTL_DAYS * DAY_S,
    logger,
    upgrade: { userStateTtlSeconds: config.AGGREGATOR_USER_STATE_TTL_DAYS * DAY_S },
  };
}
