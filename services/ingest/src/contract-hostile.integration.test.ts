/**
 * Contract v2 on real Kafka and Cassandra: hostile messages (oversize values up to 10 MB, a
 * 70 KiB key, the earliest Date, control characters, broken JSON, ...) between valid clicks on
 * one partition. Every valid click is stored, every hostile one is on the dead-letter topic
 * (default 1 MB message limit) with its reason, and ingest never exits.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { CassandraClient } from '@clickstream/cassandra';
import { clickFingerprint, type InvalidReason } from '@clickstream/events';
import { createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import type { KafkaClient, OutgoingMessage } from '@clickstream/kafka';
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

const suffix = uniqueSuffix();
const keyspace = `contract_hostile_${suffix}`;
const topic = `contract-hostile-${suffix}`;
const dlqTopic = `${topic}-dlq`;
const MIB = 1024 * 1024;
let kafka: KafkaClient;
let cassandra: CassandraClient;
let bigValuesAllowed = false;

before(async () => {
  kafka = testKafka();
  cassandra = await testCassandra(keyspace);
  // The source topic takes 16 MB messages when the broker lets it, to send a 10 MB value; the
  // dead-letter topic keeps Kafka's default limit (1 MB), which every dead letter must fit.
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    bigValuesAllowed = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'max.message.bytes', value: String(16 * MIB) }] }],
    });
  } catch (err) {
    testLogger.warn({ err }, 'topic with max.message.bytes 16 MB refused; sending no 10 MB value');
  } finally {
    await admin.disconnect();
  }
  await ensureTopics(kafka, [
    { topic, partitions: 1 },
    { topic: dlqTopic, partitions: 1 },
  ]);
});
after(async () => {
  await deleteTopics(kafka, [topic, dlqTopic]);
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
});

interface Hostile {
  name: string;
  message: OutgoingMessage;
  reason: InvalidReason;
}

test('when hostile and valid messages share one partition, then valid clicks are stored, hostile ones dead-lettered with their reason, and ingest keeps running', async () => {
  const nowMs = Date.now();
  const click = (i: number, fields: object = {}) => ({
    user_id: `user-${i % 5}`,
    timestamp: nowMs - 3_600_000 + i * 1_000,
    url: `https://shop.example.com/p/${i}`,
    ...fields,
  });
  const hostile: Hostile[] = [
    { name: '900 KB of control characters', message: { key: 'k', value: '\u0001'.repeat(900_000) }, reason: 'too_large' },
    ...(bigValuesAllowed
      ? [{ name: '10 MB of control characters', message: { key: 'k', value: Buffer.alloc(10 * MIB, 0x1f) }, reason: 'too_large' as const }]
      : []),
    { name: 'a 70 KiB key', message: { key: 'k'.repeat(70 * 1024), value: JSON.stringify(click(900)) }, reason: 'too_large' },
    {
      name: 'the earliest Date',
      message: { key: 'k', value: JSON.stringify(click(901, { timestamp: -8_640_000_000_000_000 })) },
      reason: 'timestamp_out_of_range',
    },
    {
      name: 'epoch seconds',
      message: { key: 'k', value: JSON.stringify(click(902, { timestamp: Math.floor(nowMs / 1000) })) },
      reason: 'timestamp_out_of_range',
    },
    {
      name: 'year 0001',
      message: { key: 'k', value: JSON.stringify(click(903, { timestamp: '0001-01-01T00:00:00Z' })) },
      reason: 'timestamp_out_of_range',
    },
    {
      name: 'next year',
      message: { key: 'k', value: JSON.stringify(click(904, { timestamp: nowMs + 366 * 86_400_000 })) },
      reason: 'timestamp_in_future',
    },
    { name: 'a blank user_id', message: { key: 'k', value: JSON.stringify(click(905, { user_id: '  ' })) }, reason: 'invalid_value' },
    { name: 'a NUL user_id', message: { key: 'k', value: JSON.stringify(click(906, { user_id: '\u0000' })) }, reason: 'invalid_value' },
    {
      name: 'a lone surrogate event_id',
      message: { key: 'k', value: '{"event_id":"\\ud800","user_id":"u","timestamp":"2024-05-01","url":"/a"}' },
      reason: 'invalid_value',
    },
    { name: 'CR LF in the url', message: { key: 'k', value: JSON.stringify(click(907, { url: '/a\r\nb' })) }, reason: 'invalid_url' },
    { name: 'an IPv6 zone id', message: { key: 'k', value: JSON.stringify(click(908, { ip: 'fe80::1%eth0' })) }, reason: 'invalid_ip' },
    {
      name: 'a broken JSON object with 8 commas',
      message: {
        key: 'k',
        value:
          '{"event_id":"e","user_id":"u","timestamp":"2024-05-01","url":"/a","country":"US","city":"B","browser":"C","os":"W","device":',
      },
      reason: 'invalid_json',
    },
    { name: 'invalid UTF-8', message: { key: Buffer.from([0xff]), value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }, reason: 'invalid_json' },
    {
      name: '64 KiB + 1 of JSON',
      message: { key: 'k', value: JSON.stringify(click(909, { pad: 'x'.repeat(64 * 1024) })) },
      reason: 'too_large',
    },
  ];
  // Valid: with ids, without (fingerprint), and one whose unsound hints are ignored, not fatal.
  const valid = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? click(i, { event_id: `valid-${i}` }) : click(i)));
  valid.push(click(40, { event_id: 'valid-hints', country: 'C'.repeat(33_000), city: 'x'.repeat(300) }));
  const expectedIds = valid.map((c) =>
    'event_id' in c ? String(c.event_id) : clickFingerprint({ userId: c.user_id, eventTimeMs: c.timestamp, url: c.url, sessionId: null }),
  );

  // Interleaved on the one partition: each hostile message after a few valid ones.
  const messages: { message: OutgoingMessage; hostile?: Hostile }[] = [];
  valid.forEach((c, i) => {
    messages.push({ message: { key: c.user_id, value: JSON.stringify(c) } });
    const bad = i % 3 === 2 ? hostile[(i - 2) / 3] : undefined;
    if (bad) messages.push({ message: bad.message, hostile: bad });
  });
  for (const bad of hostile) if (!messages.some((m) => m.hostile === bad)) messages.push({ message: bad.message, hostile: bad });

  const producer = await createMessageProducer(kafka);
  // One send per message: the offsets are then the positions in `messages`.
  for (const { message } of messages) await producer.send(topic, [message]);
  await producer.disconnect();

  const service = await startIngest(ingestTestEnv({ topic, keyspace, groupId: `contract-hostile-${suffix}` }), testLogger);
  let exited: number | null = null;
  void service.stopped.then((code) => (exited = code));
  try {
    const dead = await readTopic(kafka, dlqTopic, hostile.length, 120_000);
    const rows = await pollUntil(
      () => countEventRows(cassandra, keyspace),
      (n) => n >= valid.length || exited !== null,
      60_000,
    );
    assert.equal(exited, null, 'ingest is still running');
    assert.equal(rows, valid.length);
    const stored = (await cassandra.driver.execute(`SELECT event_id, country, city FROM ${keyspace}.events`, [], { prepare: false })).rows;
    assert.deepEqual(stored.map((r) => r.get('event_id') as string).sort(), [...expectedIds].sort());
    const hinted = stored.find((r) => r.get('event_id') === 'valid-hints');
    assert.deepEqual([hinted?.get('country'), hinted?.get('city')], ['ZZ', null], 'unsound hints are ignored, the click is kept');

    assert.equal(dead.length, hostile.length);
    const byOffset = new Map(
      dead.map((sent) => {
        const record = JSON.parse(sent.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
        return [String(record.source_offset), { record, sent }] as const;
      }),
    );
    messages.forEach(({ message, hostile: bad }, offset) => {
      if (!bad) return;
      const found = byOffset.get(String(offset));
      assert.ok(found, `dead letter for ${bad.name} (offset ${offset})`);
      const { record, sent } = found;
      assert.equal(record.reason, bad.reason, `${bad.name}: ${String(record.message)}`);
      const original = Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value);
      assert.equal(record.value_bytes, original.length, bad.name);
      assert.equal(record.value_sha256, createHash('sha256').update(original).digest('hex'), bad.name);
      assert.equal(record.value_truncated, original.length > 64 * 1024, bad.name);
      assert.ok((sent.value?.length ?? 0) < MIB, `${bad.name}: the dead letter fits the default 1 MB`);
      if (bad.name === 'a 70 KiB key') {
        assert.deepEqual([record.key_truncated, record.key_bytes, sent.key?.length], [true, 70 * 1024, 1024]);
      }
    });

    const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    assert.match(metrics, /ingest_hints_ignored_total\{[^}]*hint="country"[^}]*\} 1/);
    assert.match(metrics, /ingest_hints_ignored_total\{[^}]*hint="city"[^}]*\} 1/);
    console.log(
      `contract hostile: ${valid.length} valid -> ${rows} rows; ${hostile.length} hostile (10 MB value ${bigValuesAllowed ? 'sent' : 'not allowed'}) -> ${dead.length} dead letters; ingest running`,
    );
  } finally {
    await service.stop();
  }
});
