/**
 * Ingest on real Kafka while an operator changes its source topic: partitions added while ingest
 * runs, and the topic deleted (and later created again under the same name) while ingest runs.
 * Partitions added are read within about 30 s, asserted within two minutes (kafkajs' own metadata refresh took up to 5). Ingest must neither exit nor spin: it
 * backs off, says on `/readyz` that it consumes nothing, and stores the new topic's clicks once
 * the topic is back; no click of the new topic is lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CassandraClient } from '@clickstream/cassandra';
import { addPartitions, createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { readyzTurns } from '../../../test/support/readyz.ts';
import { countEventRows, ingestTestEnv, pollUntil, testCassandra, testKafka, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startIngest } from './main.ts';

const suffix = uniqueSuffix();
const keyspace = `topicops_${suffix}`;
const topics: string[] = [];
let kafka: KafkaClient;
let cassandra: CassandraClient | undefined;

/** `count` valid clicks with ids `<tag>-<i>`, keyed by user, dated now. */
function clicks(tag: string, count: number): { key: string; value: string }[] {
  const now = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => ({
    key: `u${i % 17}`,
    value: JSON.stringify({ event_id: `${tag}-${i}`, user_id: `u${i % 17}`, timestamp: now, url: `/p/${i % 5}` }),
  }));
}

async function produce(topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const producer = await createMessageProducer(kafka);
  await producer.send(topic, messages);
  await producer.disconnect();
}

before(() => {
  kafka = testKafka();
});
after(async () => {
  await deleteTopics(kafka, topics);
  cassandra ??= await testCassandra('system');
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
});

test('when the source topic is deleted while ingest runs, then it backs off, /readyz says so, and it stores the recreated topic’s clicks', async () => {
  const topic = `topicops-del-${suffix}`;
  topics.push(topic, `${topic}-dlq`);
  await ensureTopics(kafka, [
    { topic, partitions: 3 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
  const { lines, logger } = capturedLogger({ service: 'ingest', level: 'warn' });
  const service = await startIngest(ingestTestEnv({ topic, keyspace }), logger);
  try {
    cassandra = await testCassandra(keyspace);
    const store = cassandra;
    await produce(topic, clicks('before', 200));
    assert.equal(
      await pollUntil(
        () => countEventRows(store, keyspace),
        (n) => n >= 200,
        60_000,
      ),
      200,
    );
    assert.equal((await readyzTurns(service.httpPort, 200, 10_000)).answer.status, 200, 'ready while it consumes');

    await deleteTopics(kafka, [topic]);
    const deletedAt = lines.length;
    const notReady = await readyzTurns(service.httpPort, 503, 20_000);
    console.log(
      `/readyz answered ${notReady.answer.status} (${notReady.answer.reason ?? ''}) ${notReady.tookMs} ms after the topic was deleted`,
    );
    assert.equal(notReady.answer.status, 503, 'not ready while the topic it reads does not exist');
    assert.match(notReady.answer.reason ?? '', new RegExp(topic));
    // kafkajs restarts a crashed consumer every 300 ms for ever: each restart is a handful of log lines.
    await sleep(15_000);
    const restarts = lines.slice(deletedAt).filter((l) => /^Restarting the consumer/.test(String(l.msg))).length;
    console.log(`${lines.length - deletedAt} warning lines, ${restarts} kafkajs restarts in the ~20 s after the deletion`);
    assert.ok(restarts <= 5, `backs off instead of restarting the consumer every 300 ms (${restarts} restarts)`);
    assert.ok(
      lines.slice(deletedAt).some((l) => String(l.msg).includes(`topic ${topic} does not exist`)),
      'the log says the topic does not exist',
    );

    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    await produce(topic, clicks('after', 300));
    const rows = await pollUntil(
      () => countEventRows(store, keyspace),
      (n) => n >= 500,
      90_000,
    );
    assert.equal(rows, 500, 'every click of the recreated topic stored, none twice');
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready again once it consumes');
  } finally {
    await service.stop();
  }
});

test('when partitions are added to the source topic while ingest runs, then the clicks sent to the new ones are stored within two minutes (kafkajs alone: five)', async () => {
  const topic = `topicops-grow-${suffix}`;
  topics.push(topic, `${topic}-dlq`);
  await ensureTopics(kafka, [
    { topic, partitions: 2 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
  const service = await startIngest(ingestTestEnv({ topic, keyspace }), capturedLogger({ service: 'ingest', level: 'fatal' }).logger);
  try {
    cassandra ??= await testCassandra(keyspace);
    const store = cassandra;
    const before = await countEventRows(store, keyspace);
    await produce(topic, clicks('grow-a', 100));
    assert.equal(
      await pollUntil(
        () => countEventRows(store, keyspace),
        (n) => n >= before + 100,
        60_000,
      ),
      before + 100,
    );

    await addPartitions(kafka, topic, 6);
    const addedAt = Date.now();
    // A fresh producer knows all 6 partitions: most of these clicks land on the 4 new ones (a send
    // the new partitions' leaders were not ready for is sent again: rows are idempotent).
    await produce(topic, clicks('grow-b', 300));
    const rows = await pollUntil(
      () => countEventRows(store, keyspace),
      (n) => n >= before + 400,
      120_000,
      1_000,
    );
    console.log(`clicks on the added partitions stored ${Date.now() - addedAt} ms after the partitions were added`);
    assert.equal(rows, before + 400, 'every click on the added partitions stored within two minutes');
  } finally {
    await service.stop();
  }
});
