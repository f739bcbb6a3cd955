/**
 * The work queue under months of load, compressed: 110,000 ingest batches mark hours between
 * aggregation runs (the old marker table failed its next run after 110k processed markers with
 * "Scanned over 100001 tombstones"); every run still succeeds, reads only what is pending, and
 * the numbers stay exact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AGGREGATION_LEASE,
  createAggregatorStateRepository,
  createEventsRepository,
  createLeaseRepository,
  createPendingHoursRepository,
  ensureSchema,
} from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient, createMetricsIndexer, identifyMetricsIndex, installMetricsIndex } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { HOUR_MS, hoursAffectedBy } from '@clickstream/metrics';
import { compareWithReference, readAllMetricDocuments } from '../../../test/e2e/metric-comparison.ts';
import type { ReferenceEvent } from '../../../test/reference/reference-metrics.ts';
import { removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { storedClick } from '../../../test/support/stored-click.ts';
import { runAggregation } from './aggregation-run.ts';
import type { AggregationDependencies } from './run-context.ts';
import { mapConcurrently } from './map-concurrently.ts';
import { withLease } from './run-lease.ts';

const suffix = uniqueSuffix();
const keyspace = `queue_it_${suffix}`;
const alias = `it-queue-${suffix}`;
const START_MS = Date.UTC(2024, 6, 1, 22);
const retry = { attempts: 3, initialDelayMs: 50, maxDelayMs: 500 };
let cassandra: CassandraClient;
let es: ElasticsearchClient;

before(async () => {
  cassandra = await testCassandra(keyspace);
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  await installMetricsIndex(es, { alias, shards: 1, replicas: 0 });
});
after(async () => {
  await removeTestStores({ es, alias, cassandra, keyspace });
});

test('when 110,000 batches mark hours between runs, then every run succeeds, the queue never grows, and the numbers stay exact', async () => {
  const pendingHours = createPendingHoursRepository(cassandra);
  const deps: AggregationDependencies = {
    events: createEventsRepository(cassandra, { concurrency: 16 }),
    pendingHours,
    state: createAggregatorStateRepository(cassandra, { concurrency: 16 }),
    indexer: createMetricsIndexer(es, { alias, bulkSize: 500, retry }),
    metricsIndex: { alias, identify: () => identifyMetricsIndex(es, { alias, shards: 1, replicas: 0, install: true }) },
    allowedLatenessMs: 600_000,
    eventsRetentionMs: 0,
    maxEventsInMemory: 300_000,
    maxGroupsInMemory: 100_000,
    hourConcurrency: 2,
    groupConcurrency: 8,
    newGroupUsersHeld: 1_000,
    bulkSize: 500,
    retry,
    now: () => START_MS + 10 * 24 * HOUR_MS,
    logger: testLogger,
  };
  const leases = createLeaseRepository(cassandra);
  const stored: ReferenceEvent[] = [];
  const ROUNDS = 10;
  const BATCHES_PER_ROUND = 11_000;
  for (let round = 0; round < ROUNDS; round += 1) {
    // One new event per round, spread over four hours across midnight, then 11,000 batches' markers.
    const event: ReferenceEvent = {
      eventId: `e${round}`,
      userId: `u${round % 3}`,
      sessionId: null,
      eventTimeMs: START_MS + round * 25 * 60_000,
      urlKey: `/p${round % 2}`,
      country: 'FR',
      timeSpentMs: null,
      isBot: false,
    };
    await deps.events.writeEvents([storedClick(event)]);
    stored.push(event);
    const hours = hoursAffectedBy(event.eventTimeMs);
    await mapConcurrently(
      Array.from({ length: BATCHES_PER_ROUND }, (_, i) => i),
      64,
      () => pendingHours.mark(hours),
    );
    const leased = await withLease(leases, { name: AGGREGATION_LEASE, holder: 'test', ttlMs: 60_000, logger: testLogger }, (grant) =>
      runAggregation(deps, grant),
    );
    assert.ok(leased.acquired);
    assert.ok(
      leased.result.pendingHours >= 1 && leased.result.pendingHours <= 2,
      `round ${round}: ${leased.result.pendingHours} pending hours`,
    );
  }
  assert.deepEqual((await pendingHours.pending()).hours, [], 'all 110,000 markers processed');
  const { mismatches, compared } = compareWithReference(await readAllMetricDocuments(es, alias), stored, await deps.now());
  assert.deepEqual(mismatches, []);
  assert.ok(compared > 0);
  // The queue holds one counter per (day, hour) ever touched, however many batches marked it.
  const rows = await cassandra.driver.execute(`SELECT COUNT(*) AS n FROM ${keyspace}.hour_changes`);
  assert.ok(Number(rows.first().get('n')) <= 6, 'a handful of counters, not 110,000 markers');
});
