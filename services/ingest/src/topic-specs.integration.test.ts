/**
 * The topics ingest creates, on a real broker: a dead letter is accepted whatever the clock of
 * the node that sends it. A broker refuses a record stamped by its sender more than
 * `log.message.timestamp.after.max.ms` (Kafka 4: one hour) ahead of its own clock, and ingest
 * stopped at the first invalid message when its node's clock was that far ahead.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deleteTopics, differingTopicSettings, ensureTopics, topicMessageCount } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import { ingestTestEnv, testKafka, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { loadIngestConfig } from './config.ts';
import { topicSpecs } from './topic-specs.ts';

const HOUR_MS = 3_600_000;
const topic = `specs-${uniqueSuffix()}`;
let kafka: KafkaClient;

before(() => {
  kafka = testKafka();
});
after(async () => {
  await deleteTopics(kafka, [topic, `${topic}-dlq`, `${topic}-old`, `${topic}-old-dlq`]);
});

test("when the sender's clock is two hours ahead of the broker's, then the dead-letter topic still takes its records (the broker stamps them)", async () => {
  const config = loadIngestConfig(ingestTestEnv({ topic, keyspace: 'unused' }));
  await ensureTopics(kafka, topicSpecs(config));
  const producer = kafka.kafka.producer();
  await producer.connect();
  try {
    // kafkajs stamps a record with its own clock: these are what a node two hours ahead sends.
    const ahead = () => [{ value: 'a dead letter', timestamp: String(Date.now() + 2 * HOUR_MS) }];
    await producer.send({ topic: config.KAFKA_DLQ_TOPIC, messages: ahead() });
    assert.equal(await topicMessageCount(kafka, config.KAFKA_DLQ_TOPIC), 1);
    // The source topic keeps its producers' times (CreateTime), so the broker's rule still applies there.
    await assert.rejects(
      producer.send({ topic: config.KAFKA_TOPIC, messages: ahead() }),
      /timestamp of the message is out of acceptable range/,
    );
  } finally {
    await producer.disconnect();
  }
});

test('when the dead-letter topic was created by an earlier version, then its missing broker timestamps are reported, and none on a topic created now', async () => {
  const config = loadIngestConfig(ingestTestEnv({ topic, keyspace: 'unused' }));
  await ensureTopics(kafka, topicSpecs(config));
  assert.deepEqual(await differingTopicSettings(kafka, topicSpecs(config)), []);
  // As an earlier version created it: without message.timestamp.type (the broker default, CreateTime).
  const old = loadIngestConfig(ingestTestEnv({ topic: `${topic}-old`, keyspace: 'unused' }));
  const [source, deadLetters] = topicSpecs(old);
  assert.ok(source !== undefined && deadLetters !== undefined);
  const { 'message.timestamp.type': _stamped, ...olderConfigs } = deadLetters.configs ?? {};
  await ensureTopics(kafka, [source, { ...deadLetters, configs: olderConfigs }]);
  assert.deepEqual(await differingTopicSettings(kafka, topicSpecs(old)), [
    { topic: old.KAFKA_DLQ_TOPIC, name: 'message.timestamp.type', actual: 'CreateTime', wanted: 'LogAppendTime' },
  ]);
});
