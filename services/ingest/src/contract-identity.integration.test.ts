/**
 * Contract v2, identity, end to end on real Kafka, Cassandra and Elasticsearch: 100 clicks
 * without `event_id` from 5 users, keyed by user as the README tells producers to, are 100 rows
 * (v1 made them 5), a replay of the same messages adds none, and one aggregator run counts 100
 * clicks in Elasticsearch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient, topMetrics } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { createMessageProducer, deleteTopics, ensureTopics, topicMessageCount } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import {
  countEventRows,
  ingestTestEnv,
  pollUntil,
  removeTestStores,
  stackEnv,
  testCassandra,
  testKafka,
  testLogger,
  uniqueSuffix,
} from '../../../test/support/stack-clients.ts';
import { startIngest } from './main.ts';

const suffix = uniqueSuffix();
const keyspace = `contract_identity_${suffix}`;
const topic = `contract-identity-${suffix}`;
const alias = `it-contract-identity-${suffix}`;
const HOUR_MS = 3_600_000;
let kafka: KafkaClient;
let cassandra: CassandraClient;
let es: ElasticsearchClient;

before(async () => {
  kafka = testKafka();
  cassandra = await testCassandra(keyspace);
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  await ensureTopics(kafka, [
    { topic, partitions: 3 },
    { topic: `${topic}-dlq`, partitions: 3 },
  ]);
});
after(async () => {
  await deleteTopics(kafka, [topic, `${topic}-dlq`]);
  await removeTestStores({ es, alias, cassandra, keyspace });
});

/** Runs `services/aggregator/src/main.ts --once`; resolves with its exit code and stderr. */
function runAggregatorOnce(): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/aggregator/src/main.ts', '--once'], {
    env: { ...process.env, ...stackEnv, CASSANDRA_KEYSPACE: keyspace, ELASTICSEARCH_INDEX: alias, HTTP_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

test('when 100 id-less clicks of 5 users are keyed by user, then there are 100 rows, a replay adds none, and the aggregator counts 100 clicks', async () => {
  const startMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
  const messages = Array.from({ length: 100 }, (_, i) => {
    const user = `user-${i % 5}`;
    // Same user, same page, one second apart: only the time tells these clicks apart.
    return {
      key: user,
      value: JSON.stringify({ user_id: user, timestamp: startMs + i * 1_000, url: `https://shop.example.com/p/${i % 4}` }),
    };
  });
  const producer = await createMessageProducer(kafka);
  await producer.send(topic, messages);

  const groupId = `contract-identity-${suffix}`;
  const env = ingestTestEnv({ topic, keyspace, groupId });
  const service = await startIngest(env, testLogger);
  try {
    assert.equal(
      await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= 100,
        60_000,
      ),
      100,
    );
    // A producer retry or replay of the same clicks: same fingerprints, same rows.
    await producer.send(topic, messages);
    const groupDone = await pollUntil(
      async () => {
        const admin = kafka.kafka.admin();
        await admin.connect();
        try {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          return (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        } finally {
          await admin.disconnect();
        }
      },
      (committed) => committed >= 200,
      60_000,
    );
    assert.equal(groupDone, 200, 'ingest has consumed the replay');
    assert.equal(await topicMessageCount(kafka, topic), 200);
    assert.equal(await countEventRows(cassandra, keyspace), 100);
  } finally {
    await service.stop();
    await producer.disconnect();
  }

  const run = await runAggregatorOnce();
  assert.equal(run.code, 0, run.stderr);
  await es.driver.indices.refresh({ index: alias });
  const all = await topMetrics(es, alias, { granularity: 'all', limit: 100 });
  const hours = await topMetrics(es, alias, { granularity: 'hour', limit: 100 });
  const clicks = (rows: typeof all.rows) => rows.reduce((sum, d) => sum + d.clicks, 0);
  assert.equal(clicks(all.rows), 100);
  assert.equal(clicks(hours.rows), 100);
  assert.equal(all.rows.length, 4, 'one all-time document per page');
  console.log(
    `contract identity: 100 id-less clicks of 5 users (+100 replayed) -> 100 rows -> ${clicks(all.rows)} clicks in Elasticsearch`,
  );
});
