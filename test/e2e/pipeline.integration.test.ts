/**
 * End to end: seeded clicks -> Kafka -> ingest -> Cassandra -> aggregator -> Elasticsearch, and
 * every document compared with the independent reference computation (test/reference), exactly.
 * Then late clicks for an old, final hour, an incremental run, and the comparison again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedClickMessage, GeneratedMessage } from '@clickstream/clickgen';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { consumerGroupLag, createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import type { KafkaClient, OutgoingMessage } from '@clickstream/kafka';
import { startAggregator } from '../../services/aggregator/src/main.ts';
import type { AggregatorService } from '../../services/aggregator/src/main.ts';
import { startIngest } from '../../services/ingest/src/main.ts';
import type { IngestService } from '../../services/ingest/src/main.ts';
import type { ReferenceEvent } from '../reference/reference-metrics.ts';
import {
  countEventRows,
  pollUntil,
  removeTestStores,
  stackEnv,
  testCassandra,
  testKafka,
  testLogger,
  uniqueSuffix,
} from '../support/stack-clients.ts';
import { lateCopies } from './late-events.ts';
import { compareWithReference, readAllMetricDocuments, toReferenceEvent } from './metric-comparison.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const suffix = uniqueSuffix();
const topic = `e2e-clicks-${suffix}`;
const keyspace = `e2e_${suffix}`;
const alias = `e2e-metrics-${suffix}`;
const env = {
  ...stackEnv,
  KAFKA_TOPIC: topic,
  KAFKA_DLQ_TOPIC: `${topic}-dlq`,
  KAFKA_GROUP_ID: `e2e-ingest-${suffix}`,
  CASSANDRA_KEYSPACE: keyspace,
  ELASTICSEARCH_INDEX: alias,
  HTTP_PORT: '0',
  LOG_LEVEL: 'warn',
};

let kafka: KafkaClient;
let cassandra: CassandraClient;
let es: ElasticsearchClient;
let ingest: IngestService | undefined;
let aggregator: AggregatorService | undefined;

/** 60,000 messages from 15:00 UTC three days ago to 3 hours ago (54 to 78 hours, four UTC days): 3% re-deliveries, 1% invalid, 3% bots, 30% with time spent. */
const nowMs = Date.now();
const startMs = Math.floor(nowMs / DAY_MS) * DAY_MS - 2 * DAY_MS - 9 * HOUR_MS;
const spanMs = nowMs - 3 * HOUR_MS - startMs;
const messages: GeneratedMessage[] = [
  ...createClickGenerator({ seed: 4, count: 60_000, startMs, spanMs, duplicateRatio: 0.03, invalidRatio: 0.01, nowMs }),
];
const clicks = messages.filter((m): m is GeneratedClickMessage => m.kind !== 'invalid');
const events: ReferenceEvent[] = clicks.map((m) => toReferenceEvent(m.event));

async function produce(batch: readonly OutgoingMessage[]): Promise<void> {
  const producer = await createMessageProducer(kafka);
  try {
    for (let i = 0; i < batch.length; i += 2_000) await producer.send(topic, batch.slice(i, i + 2_000));
  } finally {
    await producer.disconnect();
  }
}

/** Waits until ingest stored `rows` events and committed everything (so every pending-hour marker is written too). */
async function waitForIngest(rows: number): Promise<void> {
  const stored = await pollUntil(
    () => countEventRows(cassandra, keyspace),
    (n) => n >= rows,
    240_000,
    1_000,
  );
  assert.equal(stored, rows, 'every distinct valid event stored once');
  const lag = await pollUntil(
    () => consumerGroupLag(kafka, env.KAFKA_GROUP_ID, topic),
    (parts) => parts.every((p) => p.lag === 0),
    60_000,
    500,
  );
  assert.deepEqual(
    lag.filter((p) => p.lag !== 0),
    [],
    'ingest committed every message',
  );
}

async function timedRun(): Promise<number> {
  assert.ok(aggregator);
  const started = performance.now();
  assert.equal(await aggregator.runOnce(), 'success');
  return Math.round(performance.now() - started);
}

async function metric(name: string): Promise<number> {
  assert.ok(aggregator);
  const text = await (await fetch(`http://127.0.0.1:${aggregator.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return Number(line?.split(' ').at(-1));
}

async function assertDocumentsMatch(
  allEvents: readonly ReferenceEvent[],
): Promise<{ compared: number; byGranularity: Record<string, number> }> {
  const stored = await readAllMetricDocuments(es, alias);
  const { compared, byGranularity, mismatches } = compareWithReference(stored, allEvents);
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} documents differ from the reference`);
  return { compared, byGranularity };
}

before(async () => {
  kafka = testKafka();
  cassandra = await testCassandra(keyspace);
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  await ensureTopics(kafka, [
    { topic, partitions: 3 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
});

after(async () => {
  await Promise.allSettled([ingest?.stop(), aggregator?.stop()]);
  await deleteTopics(kafka, [topic, `${topic}-dlq`]);
  await removeTestStores({ es, alias, cassandra, keyspace });
});

describe('pipeline end to end', { concurrency: false }, () => {
  test('when the dataset is generated, then it has what the metrics must handle', () => {
    const valid = clicks.filter((m) => m.kind === 'valid');
    const humans = valid.filter((m) => !m.event.expected.isBot).map((m) => m.event);
    const days = new Set(valid.map((m) => Math.floor(m.event.eventTimeMs / DAY_MS)));
    // A time spent derived from a next event in the following hour: the look-ahead matters.
    const byUser = Map.groupBy(humans, (e) => e.userId);
    let crossHourGaps = 0;
    for (const mine of byUser.values()) {
      mine.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
      mine.forEach((e, i) => {
        const next = mine[i + 1];
        const gapMs = next === undefined ? Infinity : next.eventTimeMs - e.eventTimeMs;
        if (
          next &&
          e.timeSpentMs === null &&
          gapMs <= 30 * 60_000 &&
          next.sessionId === e.sessionId &&
          Math.floor(next.eventTimeMs / HOUR_MS) > Math.floor(e.eventTimeMs / HOUR_MS)
        ) {
          crossHourGaps += 1;
        }
      });
    }
    const figures = {
      messages: messages.length,
      valid: valid.length,
      redelivered: clicks.length - valid.length,
      invalid: messages.length - clicks.length,
      bots: valid.length - humans.length,
      withTimeSpent: humans.filter((e) => e.timeSpentMs !== null).length,
      crossHourGaps,
      days: days.size,
      hours: new Set(valid.map((m) => Math.floor(m.event.eventTimeMs / HOUR_MS))).size,
    };
    console.log(`e2e dataset: ${JSON.stringify(figures)}`);
    assert.ok(figures.valid >= 50_000 && figures.days >= 2 && figures.hours >= 24);
    assert.ok(figures.redelivered > 0 && figures.invalid > 0 && figures.bots > 0 && crossHourGaps > 0);
    assert.ok(figures.withTimeSpent > 0 && figures.withTimeSpent < humans.length, 'events with and without time_spent_ms');
  });

  test('when the clicks went through Kafka and ingest, then one aggregator run indexes every document exactly as the reference computes it', async () => {
    const produceStarted = performance.now();
    await produce(messages.map((m) => ({ key: m.key, value: m.value })));
    ingest = await startIngest(env, testLogger);
    await waitForIngest(new Set(clicks.map((m) => m.event.eventId)).size);
    const ingestMs = Math.round(performance.now() - produceStarted);

    aggregator = await startAggregator(env, testLogger, { schedule: false });
    const fullRunMs = await timedRun();
    const { compared, byGranularity } = await assertDocumentsMatch(events);
    const hours = await metric('aggregator_pending_hours');
    assert.ok(hours >= 50, `the full run recomputed ${hours} hours`);
    assert.equal((await fetch(`http://127.0.0.1:${aggregator.httpPort}/readyz`)).status, 200);
    console.log(
      `e2e full run: ${clicks.length} clicks produced and ingested in ${ingestMs} ms; aggregator run over ${hours} pending hours took ${fullRunMs} ms; ` +
        `${compared} documents compared with the reference (${JSON.stringify(byGranularity)}), 0 differences`,
    );
  });

  test('when late clicks arrive for an old, final hour, then an incremental run brings every document back to the reference', async () => {
    const lateHourMs = Math.floor(startMs / HOUR_MS) * HOUR_MS + 5 * HOUR_MS;
    const before = await readAllMetricDocuments(es, alias);
    const oldHour = before.filter((d) => d.granularity === 'hour' && d.window_start === new Date(lateHourMs).toISOString());
    assert.ok(oldHour.length > 0 && oldHour.every((d) => d.final), 'the late clicks go to an hour already indexed as final');

    // The same users again, 7 minutes later (some spill into the next hour), plus new users.
    const originals = clicks
      .filter((m) => m.kind === 'valid' && m.event.eventTimeMs >= lateHourMs && m.event.eventTimeMs < lateHourMs + HOUR_MS)
      .slice(0, 400);
    const copies = lateCopies(originals, `late-${suffix}`, 7 * 60_000);
    const newcomers = [...createClickGenerator({ seed: 5, count: 200, startMs: lateHourMs, spanMs: HOUR_MS, nowMs })].filter(
      (m): m is GeneratedClickMessage => m.kind === 'valid',
    );
    await produce([...copies, ...newcomers.map((m) => ({ key: m.key, value: m.value }))]);
    const allEvents = [...events, ...copies.map((c) => c.reference), ...newcomers.map((m) => toReferenceEvent(m.event))];
    await waitForIngest(new Set(allEvents.map((e) => e.eventId)).size);

    const incrementalRunMs = await timedRun();
    const hours = await metric('aggregator_pending_hours');
    assert.ok(hours >= 1 && hours <= 3, `the incremental run recomputed ${hours} hours`);
    const { compared } = await assertDocumentsMatch(allEvents);
    const after = await readAllMetricDocuments(es, alias);
    const changed = after.filter((d) => d.granularity === 'hour' && d.window_start === new Date(lateHourMs).toISOString());
    assert.ok(
      changed.every((d) => d.final),
      'still final after the recomputation',
    );
    console.log(
      `e2e incremental run: ${copies.length + newcomers.length} late clicks for ${new Date(lateHourMs).toISOString()}; run over ${hours} pending hours took ${incrementalRunMs} ms; ` +
        `${compared} documents compared again, 0 differences`,
    );
  });
});
