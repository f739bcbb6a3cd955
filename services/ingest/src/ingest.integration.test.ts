import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedClickMessage, GeneratedMessage } from '@clickstream/clickgen';
import { ensureSchema } from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { createMessageProducer, deleteTopics, ensureTopics, topicMessageCount } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import {
  countEventRows,
  ingestTestEnv,
  pollUntil,
  readTopic,
  testCassandra,
  testKafka,
  testLogger,
  uniqueSuffix,
} from '../../../test/support/stack-clients.ts';
import { startIngest } from './main.ts';

const HOUR_MS = 3_600_000;
const suffix = uniqueSuffix();
const keyspace = `ingest_it_${suffix}`;
const topics: string[] = [];
let kafka: KafkaClient;
let cassandra: CassandraClient;

function envFor(topic: string, groupId: string): Record<string, string> {
  return ingestTestEnv({ topic, keyspace, groupId, extra: { INGEST_RETRY_INITIAL_DELAY_MS: '50' } });
}

async function newTopic(name: string): Promise<string> {
  const topic = `${name}-${suffix}`;
  topics.push(topic, `${topic}-dlq`);
  await ensureTopics(kafka, [
    { topic, partitions: 3 },
    { topic: `${topic}-dlq`, partitions: 3 },
  ]);
  return topic;
}

async function produce(topic: string, messages: readonly GeneratedMessage[]): Promise<void> {
  const producer = await createMessageProducer(kafka);
  for (let i = 0; i < messages.length; i += 1_000) await producer.send(topic, messages.slice(i, i + 1_000));
  await producer.disconnect();
}

function generate(seed: number, count: number, invalidRatio: number): GeneratedMessage[] {
  const now = Date.now();
  return [...createClickGenerator({ seed, count, startMs: now - 6 * HOUR_MS, spanMs: 6 * HOUR_MS, invalidRatio, nowMs: now })];
}

async function eventIds(): Promise<Set<string>> {
  const rows = (await cassandra.driver.execute(`SELECT event_id FROM ${keyspace}.events`, [], { prepare: false, fetchSize: 100_000 })).rows;
  return new Set(rows.map((r) => r.get('event_id') as string));
}

before(async () => {
  kafka = testKafka();
  cassandra = await testCassandra(keyspace);
  // The tests count rows before ingest first runs: the schema must exist whichever test comes first.
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
});
after(async () => {
  await deleteTopics(kafka, topics);
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
});

describe('ingest against real Kafka and Cassandra', { concurrency: false }, () => {
  // Each test has its own topic, consumer groups and messages, and counts rows relative to the
  // keyspace before it: any one of them can run alone or in any order.
  test('when N valid and M invalid messages are consumed, then exactly N rows and M dead letters with their reasons exist', async () => {
    const messages = generate(11, 3_000, 0.04);
    const valid = messages.filter((m): m is GeneratedClickMessage => m.kind === 'valid');
    const invalid = messages.filter((m) => m.kind === 'invalid');
    const topic = await newTopic('ingest-counts');
    const before = await countEventRows(cassandra, keyspace);
    await produce(topic, messages);
    const service = await startIngest(envFor(topic, `g1-${suffix}`), testLogger);
    try {
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= before + valid.length,
        90_000,
      );
      const deadLetters = await pollUntil(
        () => topicMessageCount(kafka, `${topic}-dlq`),
        (n) => n >= invalid.length,
        30_000,
      );
      assert.equal(rows - before, valid.length);
      assert.equal(deadLetters, invalid.length);
      const dlq = await readTopic(kafka, `${topic}-dlq`, invalid.length, 30_000);
      const reasons = dlq.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { reason: string }).reason).sort();
      assert.deepEqual(reasons, invalid.map((m) => m.invalidReason).sort());
      const first = JSON.parse(dlq[0]?.value?.toString() ?? '{}') as Record<string, unknown>;
      assert.equal(first.source_topic, topic);
      assert.ok(typeof first.message === 'string' && typeof first.failed_at === 'string' && 'source_offset' in first);
      console.log(`ingest: ${valid.length} valid -> ${rows - before} rows; ${invalid.length} invalid -> ${deadLetters} dead letters`);
    } finally {
      await service.stop();
    }
    const ids = await eventIds();
    for (const m of valid) assert.ok(ids.has(m.event.eventId), `row for ${m.event.eventId}`);
  });

  test('when the same messages are consumed again by a new consumer group, then the row count does not change', async () => {
    const messages = generate(14, 1_000, 0.04);
    const valid = messages.filter((m) => m.kind === 'valid');
    const invalid = messages.filter((m) => m.kind === 'invalid');
    const topic = await newTopic('ingest-again');
    const before = await countEventRows(cassandra, keyspace);
    await produce(topic, messages);
    // A group ends when its dead letters are all out and its rows are in: it has read everything.
    const consumeAll = async (group: string, deadLetters: number): Promise<void> => {
      const service = await startIngest(envFor(topic, `${group}-${suffix}`), testLogger);
      try {
        await pollUntil(
          () => topicMessageCount(kafka, `${topic}-dlq`),
          (n) => n >= deadLetters,
          90_000,
        );
        await pollUntil(
          () => countEventRows(cassandra, keyspace),
          (n) => n >= before + valid.length,
          90_000,
        );
      } finally {
        await service.stop();
      }
    };
    await consumeAll('again-a', invalid.length);
    assert.equal(await countEventRows(cassandra, keyspace), before + valid.length);
    await consumeAll('again-b', 2 * invalid.length);
    assert.equal(await topicMessageCount(kafka, `${topic}-dlq`), 2 * invalid.length);
    assert.equal(await countEventRows(cassandra, keyspace), before + valid.length);
  });

  test('when a poison message sits between valid ones, then the valid ones behind it are stored', async () => {
    const poisonTopic = await newTopic('ingest-poison');
    const before = await countEventRows(cassandra, keyspace);
    const good = generate(12, 40, 0).filter((m) => m.kind === 'valid');
    const key = 'same-partition';
    const poison = [
      { key, value: '{"user_id": "u", "timestamp": ' },
      { key, value: Buffer.from([0xff, 0xfe, 0x00]) },
      { key, value: JSON.stringify({ user_id: 'u', timestamp: 1, url: 'x'.repeat(70_000) }) },
    ];
    const interleaved = good.flatMap((m, i) => [{ key, value: m.value }, ...(i % 10 === 0 ? poison : [])]);
    const producer = await createMessageProducer(kafka);
    await producer.send(poisonTopic, interleaved);
    await producer.disconnect();
    const service = await startIngest(envFor(poisonTopic, `g3-${suffix}`), testLogger);
    try {
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= before + good.length,
        60_000,
      );
      assert.equal(rows, before + good.length);
      const dead = await pollUntil(
        () => topicMessageCount(kafka, `${poisonTopic}-dlq`),
        (n) => n >= 12,
        30_000,
      );
      assert.equal(dead, 12);
    } finally {
      await service.stop();
    }
  });

  test('when ingest is killed with SIGKILL mid-stream and restarted, then every row is there exactly once', async () => {
    const killTopic = await newTopic('ingest-kill');
    const big = generate(13, 30_000, 0);
    const expected = new Set(big.flatMap((m) => (m.kind === 'valid' ? [m.event.eventId] : [])));
    const before = await countEventRows(cassandra, keyspace);
    await produce(killTopic, big);
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/ingest/src/main.ts'], {
        env: { ...process.env, ...envFor(killTopic, `g4-${suffix}`) },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    const first = start();
    const partial = await pollUntil(
      () => countEventRows(cassandra, keyspace),
      (n) => n > before + 2_000,
      120_000,
      100,
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(partial - before < expected.size, `killed mid-stream (${partial - before} of ${expected.size} rows written)`);
    const second = start();
    try {
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= before + expected.size,
        180_000,
      );
      assert.equal(rows - before, expected.size);
    } finally {
      second.kill('SIGTERM');
      const code = await new Promise((resolve) => second.once('exit', resolve));
      assert.equal(code, 0, 'a SIGTERM shutdown exits 0');
    }
    const ids = await eventIds();
    const missing = [...expected].filter((id) => !ids.has(id));
    assert.deepEqual(missing, []);
    console.log(`ingest: killed at ${partial - before} of ${expected.size} rows; after restart ${expected.size} rows, none missing`);
  });
});
