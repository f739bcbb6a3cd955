import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedClickMessage } from '@clickstream/clickgen';
import { createEventsRepository, createPendingHoursRepository, ensureSchema } from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient, listQuarantinedDocuments, quarantineIndexName } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { HOUR_MS, hoursAffectedBy, metricDocumentId } from '@clickstream/metrics';
import { compareWithReference, readAllMetricDocuments, toReferenceEvent } from '../../../test/e2e/metric-comparison.ts';
import { referenceKey } from '../../../test/reference/reference-metrics.ts';
import type { ReferenceEvent } from '../../../test/reference/reference-metrics.ts';
import { removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { storedClick } from '../../../test/support/stored-click.ts';
import { startAggregator } from './main.ts';
import type { AggregatorService } from './main.ts';

const suffix = uniqueSuffix();
const keyspace = `agg_quarantine_${suffix}`;
const alias = `it-agg-quarantine-${suffix}`;
const START_MS = Date.UTC(2024, 5, 1, 8);
/** What a v1 row may hold: no bound on the country. Elasticsearch refuses it as an "immense term". */
const IMMENSE_COUNTRY = 'X'.repeat(33_000);
let cassandra: CassandraClient;
let es: ElasticsearchClient;
let service: AggregatorService;
const stored: ReferenceEvent[] = [];

async function store(events: readonly ReferenceEvent[]): Promise<void> {
  await createEventsRepository(cassandra, { concurrency: 32 }).writeEvents(events.map(storedClick));
  await createPendingHoursRepository(cassandra).mark(events.filter((e) => !e.isBot).flatMap((e) => hoursAffectedBy(e.eventTimeMs)));
  stored.push(...events);
}

/** Compares every document with the reference of every stored event; returns the mismatches. */
async function mismatches(): Promise<string[]> {
  return compareWithReference(await readAllMetricDocuments(es, alias), stored).mismatches;
}

async function quarantinedCounter(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('aggregator_documents_quarantined_total'));
  return Number(line?.split(' ').at(-1));
}

before(async () => {
  cassandra = await testCassandra(keyspace);
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  service = await startAggregator(
    {
      ...stackEnv,
      CASSANDRA_KEYSPACE: keyspace,
      ELASTICSEARCH_INDEX: alias,
      ELASTICSEARCH_REPLICAS: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'error',
      AGGREGATOR_RETRY_ATTEMPTS: '2',
      AGGREGATOR_RETRY_INITIAL_DELAY_MS: '20',
    },
    testLogger.child({}, { level: 'error' }),
    { schedule: false },
  );
});
after(async () => {
  await service.stop();
  await removeTestStores({ es, alias, cassandra, keyspace });
});

describe('a document Elasticsearch refuses for good', { concurrency: false }, () => {
  const generated = [...createClickGenerator({ seed: 31, count: 2_000, startMs: START_MS, spanMs: 20 * HOUR_MS, botRatio: 0.02 })]
    .filter((m): m is GeneratedClickMessage => m.kind === 'valid')
    .map((m) => toReferenceEvent(m.event));
  const victim = generated.find((e) => !e.isBot && e.eventTimeMs >= START_MS + 6 * HOUR_MS) ?? generated[0];
  assert.ok(victim);
  const badHourMs = victim.eventTimeMs - (victim.eventTimeMs % HOUR_MS);
  const badDayMs = badHourMs - (badHourMs % (24 * HOUR_MS));
  /** A v1-era row of a real user, 10 s after one of their clicks: it also gives that click its time spent. */
  const badRow = (eventId: string, offsetMs: number): ReferenceEvent => ({
    ...victim,
    eventId,
    eventTimeMs: victim.eventTimeMs + offsetMs,
    country: IMMENSE_COUNTRY,
    timeSpentMs: null,
  });
  const badKeys = (url: string): string[] =>
    [
      referenceKey('hour', badHourMs, url, IMMENSE_COUNTRY),
      referenceKey('day', badDayMs, url, IMMENSE_COUNTRY),
      referenceKey('all', null, url, IMMENSE_COUNTRY),
    ]
      .map((key) => `missing document ${key}`)
      .sort();

  test('when stored events include a 33,000-char country, then the run succeeds, quarantines that group, and every other document equals the reference', async () => {
    await store([...generated, badRow('v1-immense-1', 10_000)]);
    assert.equal(await service.runOnce(), 'success');

    assert.deepEqual(
      (await mismatches()).sort(),
      badKeys(victim.urlKey),
      'exactly the bad group is missing; every other document is exact',
    );
    assert.equal((await createPendingHoursRepository(cassandra).pending()).hours.length, 0, 'markers removed: the run completed');

    await es.driver.indices.refresh({ index: quarantineIndexName(alias) });
    const records = await listQuarantinedDocuments(es, alias);
    assert.deepEqual(records.map((r) => [r.granularity, r.window_start, r.url, r.country_length, r.status]).sort(), [
      ['all', null, victim.urlKey, 33_000, 400],
      ['day', new Date(badDayMs).toISOString(), victim.urlKey, 33_000, 400],
      ['hour', new Date(badHourMs).toISOString(), victim.urlKey, 33_000, 400],
    ]);
    for (const record of records) assert.match(record.reason, /immense term/);
    const hourId = metricDocumentId('hour', badHourMs, victim.urlKey, IMMENSE_COUNTRY);
    assert.ok(records.some((r) => r.document_id === hourId));
    assert.equal(await quarantinedCounter(), 3, '/metrics counts the quarantined documents');
  });

  test('when a later run recomputes the same windows, then it succeeds too: the group is quarantined again, not frozen on', async () => {
    const late = generated
      .filter((e) => e.eventTimeMs >= badHourMs && e.eventTimeMs < badHourMs + HOUR_MS)
      .slice(0, 20)
      .map((e, i) => ({ ...e, eventId: `late-${i}`, eventTimeMs: e.eventTimeMs + 1_000 }));
    const elsewhere = generated
      .filter((e) => e.eventTimeMs >= START_MS + 15 * HOUR_MS)
      .slice(0, 20)
      .map((e, i) => ({ ...e, eventId: `late-x-${i}` }));
    await store([...late, ...elsewhere, badRow('v1-immense-2', 20_000)]);
    assert.equal(await service.runOnce(), 'success');
    assert.deepEqual((await mismatches()).sort(), badKeys(victim.urlKey));
    await es.driver.indices.refresh({ index: quarantineIndexName(alias) });
    assert.equal((await listQuarantinedDocuments(es, alias)).length, 3, 'records are replaced, not added to');
    assert.equal(await quarantinedCounter(), 6);
    assert.equal(await service.runOnce(), 'success', 'and a run with nothing pending succeeds');
  });

  test('when a stored event lies in year -1 (a v1 row), then its windows are quarantined as unparseable dates and the run succeeds', async () => {
    const ancientMs = Date.UTC(-1, 0, 1, 10, 5);
    const ancient: ReferenceEvent = {
      ...victim,
      eventId: 'v1-year-minus-one',
      userId: 'ancient-user',
      eventTimeMs: ancientMs,
      timeSpentMs: 500,
    };
    await store([ancient]);
    assert.equal(await service.runOnce(), 'success');
    await es.driver.indices.refresh({ index: quarantineIndexName(alias) });
    const records = (await listQuarantinedDocuments(es, alias)).filter((r) => r.window_start?.startsWith('-000001'));
    assert.deepEqual(records.map((r) => r.granularity).sort(), ['day', 'hour']);
    for (const record of records) assert.match(record.reason, /failed to parse/);
    assert.equal((await createPendingHoursRepository(cassandra).pending()).hours.length, 0);
    const ancientKeys = [
      referenceKey('hour', Date.UTC(-1, 0, 1, 10), victim.urlKey, victim.country),
      referenceKey('day', Date.UTC(-1, 0, 1), victim.urlKey, victim.country),
    ];
    assert.deepEqual(
      (await mismatches()).sort(),
      [...badKeys(victim.urlKey), ...ancientKeys.map((key) => `missing document ${key}`)].sort(),
      'only the refused windows are missing; the all-time document of the group counts the event',
    );
  });
});
