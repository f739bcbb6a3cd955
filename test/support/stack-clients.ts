/**
 * Helpers for integration and end-to-end tests against the real local stack: connections from
 * the same environment variables the services read, polling, and reading topics back.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectCassandra } from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { quarantineIndexName } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { createKafkaClient, startBatchConsumer } from '@clickstream/kafka';
import type { ConsumedMessage, KafkaClient } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';

export const testLogger = createLogger({ service: 'test', level: (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'warn' });

export const stackEnv = {
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
  CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS ?? 'localhost:9042',
  CASSANDRA_LOCAL_DC: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
  ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? 'http://localhost:9200',
};

/**
 * The environment of an ingest under test: the stack's addresses, its topic and `<topic>-dlq`,
 * its consumer group (`g-<topic>` unless given) and keyspace, an ephemeral HTTP port, warnings
 * only; `extra` adds or overrides variables.
 */
export function ingestTestEnv(options: {
  topic: string;
  keyspace: string;
  groupId?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  const { topic, keyspace, groupId = `g-${topic}`, extra = {} } = options;
  return {
    ...stackEnv,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}-dlq`,
    KAFKA_GROUP_ID: groupId,
    CASSANDRA_KEYSPACE: keyspace,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** A short unique suffix for topics, groups, keyspaces and indices of one test run. */
export function uniqueSuffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 10);
}

export function testKafka(): KafkaClient {
  return createKafkaClient({ brokers: stackEnv.KAFKA_BROKERS.split(','), clientId: 'test', retries: 3 }, testLogger);
}

export async function testCassandra(keyspace: string): Promise<CassandraClient> {
  // The tests' own full-table counts make the server warn on every call; the services' clients keep their warnings.
  const quiet = testLogger.child({}, { level: 'error' });
  return connectCassandra(
    { contactPoints: stackEnv.CASSANDRA_CONTACT_POINTS.split(','), localDataCenter: stackEnv.CASSANDRA_LOCAL_DC, keyspace },
    quiet,
  );
}

/**
 * Removes what an aggregating test created and closes its clients: the metrics indices of `alias`
 * and its quarantine index, its index template, and the keyspace.
 */
export async function removeTestStores(stores: {
  es: ElasticsearchClient;
  alias: string;
  cassandra: CassandraClient;
  keyspace: string;
}): Promise<void> {
  const { es, alias, cassandra, keyspace } = stores;
  await es.driver.indices.delete({ index: [`${alias}-v*`, quarantineIndexName(alias)], ignore_unavailable: true, allow_no_indices: true });
  await es.driver.indices.deleteIndexTemplate({ name: `${alias}-template` }).catch(() => undefined);
  await es.close();
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
}

/** Polls `read` until `done(value)` or the timeout; returns the last value either way. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(intervalMs);
  }
}

/** Number of rows in the events table of a keyspace (a full count: test-sized tables only). */
export async function countEventRows(client: CassandraClient, keyspace: string): Promise<number> {
  const row = (await client.driver.execute(`SELECT COUNT(*) AS n FROM ${keyspace}.events`, [], { prepare: false })).first();
  return Number(row?.get('n') ?? 0);
}

/** Reads a topic from the beginning until `expected` messages arrived or the timeout passed. */
export async function readTopic(kafka: KafkaClient, topic: string, expected: number, timeoutMs: number): Promise<ConsumedMessage[]> {
  const received: ConsumedMessage[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(finish, timeoutMs);
  const consumer = await startBatchConsumer(kafka, {
    groupId: `reader-${uniqueSuffix()}`,
    topic,
    handleBatch: (batch) => {
      received.push(...batch.messages);
      if (received.length >= expected) finish();
      return Promise.resolve();
    },
    onFatal: finish,
  });
  await finished;
  clearTimeout(timer);
  await consumer.stop();
  return received;
}
