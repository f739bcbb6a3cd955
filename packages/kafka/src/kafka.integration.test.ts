import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createLogger } from '@clickstream/observability';
import { createKafkaClient, createMessageProducer, deleteTopics, ensureTopics, pingKafka, startBatchConsumer } from './index.ts';
import type { ConsumedMessage, KafkaClient } from './index.ts';

const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const logger = createLogger({ service: 'test', level: 'warn' });
const topic = `smoke-${randomUUID()}`;
let client: KafkaClient;

before(() => {
  client = createKafkaClient({ brokers, clientId: 'smoke-test', retries: 2 }, logger);
});
after(async () => {
  await deleteTopics(client, [topic]);
});

test('when the broker is up, then kafkajs reads its metadata', async () => {
  const meta = await pingKafka(client);
  assert.equal(meta.brokers, 1);
  console.log(`kafka: ${meta.brokers} broker, controller ${meta.controller}, cluster ${meta.clusterId}`);
});

test('when a topic is created and messages produced, then a consumer group receives every one of them', async () => {
  assert.deepEqual(await ensureTopics(client, [{ topic, partitions: 2 }]), [topic]);
  assert.deepEqual(await ensureTopics(client, [{ topic, partitions: 2 }]), [], 'a second ensureTopics creates nothing');
  const producer = await createMessageProducer(client);
  const sent = Array.from({ length: 20 }, (_, i) => ({ key: `user-${i % 5}`, value: JSON.stringify({ n: i }) }));
  await producer.send(topic, sent);
  await producer.disconnect();

  const received: ConsumedMessage[] = [];
  let done!: () => void;
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  const consumer = await startBatchConsumer(client, {
    groupId: `smoke-${randomUUID()}`,
    topic,
    handleBatch: (batch) => {
      received.push(...batch.messages);
      if (received.length >= sent.length) done();
      return Promise.resolve();
    },
    onFatal: (err) => assert.fail(`consumer failed: ${String(err)}`),
  });
  const timeout = setTimeout(done, 30_000);
  await allReceived;
  clearTimeout(timeout);
  await consumer.stop();
  const values = received
    .map((m) => JSON.parse(m.value?.toString() ?? 'null') as { n: number })
    .map((v) => v.n)
    .sort((a, b) => a - b);
  assert.deepEqual(
    values,
    sent.map((_, i) => i),
  );
  const keys = new Set(received.map((m) => `${m.key?.toString()}@${m.partition}`));
  assert.equal(keys.size, 5, 'one user key stays in one partition');
});
