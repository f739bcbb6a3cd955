import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedClickMessage } from '@clickstream/clickgen';
import {
  AGGREGATION_LEASE,
  createAggregatorStateRepository,
  createEventsRepository,
  createLeaseRepository,
  createPendingHoursRepository,
  createWriteFence,
  ensureSchema,
} from '@clickstream/cassandra';
import type { CassandraClient, EventsRepository } from '@clickstream/cassandra';
import {
  MetricsIndexMissingError,
  createElasticsearchClient,
  createMetricsIndexer,
  identifyMetricsIndex,
  installMetricsIndex,
  windowsLeftNotFinal,
} from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { HOUR_MS, hoursAffectedBy } from '@clickstream/metrics';
import { createMetricsRegistry } from '@clickstream/observability';
import { RetriesExhaustedError } from '@clickstream/retry';
import { compareWithReference, readAllMetricDocuments, toReferenceEvent } from '../../../test/e2e/metric-comparison.ts';
import { lateCopies } from '../../../test/e2e/late-events.ts';
import type { ReferenceEvent } from '../../../test/reference/reference-metrics.ts';
import { pollUntil, removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { storedClick } from '../../../test/support/stored-click.ts';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { createAggregatorMetrics } from './aggregator-metrics.ts';
import { createAggregatorRunner } from './aggregator-runner.ts';
import { runAggregation } from './aggregation-run.ts';
import type { RunSummary } from './aggregation-run.ts';
import type { AggregationDependencies } from './run-context.ts';
import { withLease } from './run-lease.ts';

const suffix = uniqueSuffix();
const keyspace = `agg_it_${suffix}`;
const alias = `it-agg-${suffix}`;
/** 2024-05-01T20:00Z: the generated clicks span 30 hours from here, across two UTC days. */
const START_MS = Date.UTC(2024, 4, 1, 20);
const fastRetry = { attempts: 2, initialDelayMs: 20, maxDelayMs: 50 };
let cassandra: CassandraClient;
let es: ElasticsearchClient;
let clockMs = START_MS + 3 * 24 * HOUR_MS;
let deps: AggregationDependencies;
const stored: ReferenceEvent[] = [];

/** What ingest would store for a click (the generator's expected enrichment), and its pending-hour markers. */
async function store(events: readonly ReferenceEvent[]): Promise<void> {
  const rows = events.map(storedClick);
  await createEventsRepository(cassandra, { concurrency: 32 }).writeEvents(rows);
  await createPendingHoursRepository(cassandra).mark(events.filter((e) => !e.isBot).flatMap((e) => hoursAffectedBy(e.eventTimeMs)));
  stored.push(...events);
}

function dependencies(retry = fastRetry): AggregationDependencies {
  return {
    events: createEventsRepository(cassandra, { concurrency: 32 }),
    pendingHours: createPendingHoursRepository(cassandra),
    state: createAggregatorStateRepository(cassandra, { concurrency: 32 }),
    indexer: createMetricsIndexer(es, { alias, bulkSize: 500, retry }),
    metricsIndex: {
      alias,
      identify: () => identifyMetricsIndex(es, { alias, shards: 1, replicas: 0, install: true }),
      windowsLeftNotFinal: (endedBeforeMs) => windowsLeftNotFinal(es, alias, endedBeforeMs, 1_000),
    },
    allowedLatenessMs: 10 * 60_000,
    eventsRetentionMs: 0,
    maxEventsInMemory: 300_000,
    maxGroupsInMemory: 100_000,
    hourConcurrency: 2,
    groupConcurrency: 16,
    newGroupUsersHeld: 1_000,
    bulkSize: 500,
    retry,
    now: () => clockMs,
    logger: testLogger,
  };
}

async function assertMatchesReference(): Promise<void> {
  const { mismatches, compared } = compareWithReference(await readAllMetricDocuments(es, alias), stored, clockMs);
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches`);
  assert.ok(compared > 0);
}

const pendingCount = async (): Promise<number> => (await createPendingHoursRepository(cassandra).pending()).hours.length;

/** One run under the real lease (every run gets a larger fencing token, as in the service). */
async function run(runDeps: AggregationDependencies = deps): Promise<RunSummary> {
  const leased = await withLease(
    createLeaseRepository(cassandra),
    { name: AGGREGATION_LEASE, holder: 'test', ttlMs: 60_000, logger: testLogger },
    (grant) => runAggregation(runDeps, grant),
  );
  assert.ok(leased.acquired, 'nobody else holds the lease');
  return leased.result;
}

before(async () => {
  cassandra = await testCassandra(keyspace);
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  await installMetricsIndex(es, { alias, shards: 1, replicas: 0 });
  deps = dependencies();
});
after(async () => {
  await removeTestStores({ es, alias, cassandra, keyspace });
});

describe('aggregation runs against real Cassandra and Elasticsearch', { concurrency: false }, () => {
  const generated = [
    ...createClickGenerator({ seed: 21, count: 4_000, startMs: START_MS, spanMs: 30 * HOUR_MS, duplicateRatio: 0.05, botRatio: 0.05 }),
  ].filter((m): m is GeneratedClickMessage => m.kind !== 'invalid');

  // The generated clicks stored and aggregated once, by whichever test comes first: each test
  // builds on this baseline, not on the tests before it, so that any one can run alone.
  let baselineRun: Promise<RunSummary> | undefined;
  const baseline = (): Promise<RunSummary> => (baselineRun ??= store(generated.map((m) => toReferenceEvent(m.event))).then(() => run()));

  test('when hours are pending, then one run indexes every hour, day and all-time document as the reference computes it, and clears the markers', async () => {
    const summary = await baseline();
    assert.ok(summary.hours >= 30 && summary.days === 3, `hours ${summary.hours}, days ${summary.days}`);
    await assertMatchesReference();
    assert.equal(await pendingCount(), 0);
    assert.deepEqual(await deps.state.listOpenWindows(), [], 'every window ended long before the clock: all final');
  });

  test('when late events arrive for a final hour, then the next run recomputes only what they touch and the numbers are right again', async () => {
    await baseline();
    const lateHourMs = START_MS + 5 * HOUR_MS;
    const originals = generated
      .filter((m) => m.kind === 'valid' && m.event.eventTimeMs >= lateHourMs && m.event.eventTimeMs < lateHourMs + HOUR_MS)
      .slice(0, 60);
    await store(lateCopies(originals, 'late-a', 7 * 60_000).map((late) => late.reference));
    const summary = await run();
    assert.ok(summary.hours <= 3 && summary.days <= 2, `incremental: ${summary.hours} hours, ${summary.days} days`);
    await assertMatchesReference();
  });

  test('when a day holds more groups than maxGroupsInMemory, then it is recomputed in slices of its groups and every document still equals the reference', async () => {
    await baseline();
    // Late copies spread over the whole span: every day pending again, each with many groups.
    const originals = generated.filter((m, i) => m.kind === 'valid' && i % 20 === 0);
    await store(lateCopies(originals, 'late-s', 5 * 60_000).map((late) => late.reference));
    const { lines, logger } = capturedLogger();
    const summary = await run({ ...deps, maxGroupsInMemory: 60, logger });
    const sliced = lines.filter(
      (line) => line.msg === 'day recomputed in slices of its (url, country) groups: more than AGGREGATOR_MAX_GROUPS_IN_MEMORY',
    );
    assert.ok(sliced.length >= 2, `days sliced: ${sliced.map((line) => `${String(line.day)} ${String(line.slices)}`).join(', ')}`);
    assert.equal(summary.days, 3);
    assert.equal(await pendingCount(), 0);
    await assertMatchesReference();
  });

  test('when Elasticsearch refuses writes, then the run fails and keeps its markers, and the next run makes the documents right', async () => {
    await baseline();
    const index = `${alias}-v1`;
    const originals = generated.filter((m) => m.kind === 'valid' && m.event.eventTimeMs >= START_MS + 20 * HOUR_MS).slice(0, 40);
    await store(lateCopies(originals, 'late-b', 3 * 60_000).map((late) => late.reference));
    const pendingBefore = await pendingCount();
    await es.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });
    try {
      await assert.rejects(run(), RetriesExhaustedError);
    } finally {
      await es.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
    }
    assert.equal(await pendingCount(), pendingBefore, 'no marker removed by the failed run');
    await run();
    assert.equal(await pendingCount(), 0);
    await assertMatchesReference();
  });

  test('when a window is open at one run and final at a later one, then the later run re-indexes it as final without new events', async () => {
    await baseline();
    const hourMs = Date.UTC(2024, 4, 5, 10);
    const recent = [...createClickGenerator({ seed: 22, count: 300, startMs: hourMs, spanMs: HOUR_MS })].filter(
      (m): m is GeneratedClickMessage => m.kind === 'valid',
    );
    await store(recent.map((m) => toReferenceEvent(m.event)));
    clockMs = hourMs + 50 * 60_000;
    await run();
    await assertMatchesReference();
    const open = (await deps.state.listOpenWindows()).map((w) => `${w.granularity} ${new Date(w.windowStartMs).toISOString()}`).sort();
    assert.ok(open.includes('hour 2024-05-05T10:00:00.000Z') && open.includes('day 2024-05-05T00:00:00.000Z'), open.join(', '));

    clockMs = hourMs + HOUR_MS + 40 * 60_000;
    const summary = await run();
    assert.ok(summary.finalised >= 1 && summary.hours === 0, `finalised ${summary.finalised}, recomputed ${summary.hours}`);
    await assertMatchesReference();
    const still = (await deps.state.listOpenWindows()).map((w) => w.granularity);
    assert.deepEqual(still, ['day'], 'the hour is final now; its day is not over yet');
  });

  test('when two replicas run at once, then the second is refused the lease and skips, and no document is duplicated', async () => {
    await baseline();
    const originals = generated.filter((m) => m.kind === 'valid').slice(100, 160);
    await store(lateCopies(originals, 'late-c', 11 * 60_000).map((late) => late.reference));
    const leases = createLeaseRepository(cassandra);
    const metrics = createAggregatorMetrics(createMetricsRegistry('test'));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const first = createAggregatorRunner({
      leases,
      holder: 'replica-1',
      leaseTtlMs: 30_000,
      metrics,
      logger: testLogger,
      run: async (grant) => {
        // Holds the lease until the second replica has tried.
        await gate;
        return runAggregation(deps, grant);
      },
    });
    const second = createAggregatorRunner({
      leases,
      holder: 'replica-2',
      leaseTtlMs: 30_000,
      metrics,
      logger: testLogger,
      run: (grant) => runAggregation(deps, grant),
    });
    const firstRun = first.runOnce();
    assert.equal(
      await pollUntil(
        () => leases.holderOf(AGGREGATION_LEASE),
        (h) => h === 'replica-1',
        10_000,
        50,
      ),
      'replica-1',
    );
    assert.equal(await second.runOnce(), 'skipped');
    openGate();
    assert.equal(await firstRun, 'success');
    assert.equal(await second.runOnce(), 'success', 'the lease is free again once the first run ends');
    await assertMatchesReference();
  });

  test('when a replica is paused past its lease while another takes over and finishes, then on resuming its writes are refused and the numbers stay exact', async () => {
    await baseline();
    const leases = createLeaseRepository(cassandra);
    const hourMs = START_MS + 8 * HOUR_MS;
    const inHour = generated.filter((m) => m.kind === 'valid' && m.event.eventTimeMs >= hourMs && m.event.eventTimeMs < hourMs + HOUR_MS);
    await store(lateCopies(inHour.slice(0, 30), 'late-d', 4 * 60_000).map((late) => late.reference));

    // Replica A takes the lease with a short TTL and is "paused" (its renewals never happen,
    // like a stopped process) right after reading the events of the late hour.
    const staleToken = await leases.tryAcquire(AGGREGATION_LEASE, 'replica-a', 1_000);
    assert.ok(staleToken !== null);
    let reachedPause!: () => void;
    const paused = new Promise<void>((resolve) => (reachedPause = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const pausingEvents: EventsRepository = {
      writeEvents: (events) => deps.events.writeEvents(events),
      async readEvents(fromMs, toMs) {
        const events = await deps.events.readEvents(fromMs, toMs);
        if (fromMs === hourMs) {
          reachedPause();
          await resumed;
        }
        return events;
      },
    };
    const staleRun = runAggregation(
      { ...deps, events: pausingEvents, hourConcurrency: 1 },
      { signal: new AbortController().signal, token: staleToken },
    );
    await paused;

    // Meanwhile: more late events for the same hour, A's lease expires, replica B runs everything.
    await store(lateCopies(inHour.slice(30, 70), 'late-e', 6 * 60_000).map((late) => late.reference));
    await pollUntil(
      () => leases.holderOf(AGGREGATION_LEASE),
      (holder) => holder === null,
      15_000,
      200,
    );
    const fresh = await run();
    assert.ok(fresh.hours >= 1);
    await assertMatchesReference();

    // A resumes with its stale view: Elasticsearch refuses its documents (older fencing
    // version), Cassandra outranks its state writes (older write timestamps), and it fails.
    resume();
    await assert.rejects(staleRun);
    await assertMatchesReference();
    assert.equal(await pendingCount(), 0, "B's release stands");
    const again = await run();
    assert.equal(again.hours, 0, 'nothing left pending by the stale replica');
    await assertMatchesReference();
  });

  test('when the metrics index is deleted, then writes to the alias fail without creating an index of its name, and the next run fills a new index from the state', async () => {
    await baseline();
    await run();
    const stored = await readAllMetricDocuments(es, alias);
    const { _id: id, ...document } = stored[0] ?? assert.fail('documents indexed');
    await es.driver.indices.delete({ index: `${alias}-v*` });

    // Elasticsearch would create a concrete index named as the alias, with guessed mappings,
    // and the alias could never be installed again.
    await assert.rejects(deps.indexer.write([{ action: 'index', id, document }]), MetricsIndexMissingError);
    assert.equal(await es.driver.indices.exists({ index: alias }), false, 'no index named as the alias');

    // Late events too: the run fills the index from the stored state, then recomputes what they touched.
    const originals = generated.filter((m) => m.kind === 'valid' && m.event.eventTimeMs >= START_MS + 25 * HOUR_MS).slice(0, 20);
    await store(lateCopies(originals, 'late-lost-index', 2 * 60_000).map((late) => late.reference));
    const refill = await run();
    assert.ok(refill.republished >= stored.length, `${refill.republished} documents indexed again, ${stored.length} before`);
    await assertMatchesReference();
    const next = await run();
    assert.equal(next.republished, 0, 'the new index is recorded');
  });

  test('when the index is lost on a keyspace whose all-time sums predate their columns, then the refill sums the stored days and matches the reference', async () => {
    await baseline();
    await run();
    // A keyspace from before the static all-time sums: every group's are unknown (null). The
    // nulls must win over the runs' fenced writes: their timestamp is just below the next grant's first.
    const [grant] = (
      await cassandra.driver.execute(`SELECT fencing_token FROM ${keyspace}.lease_grants WHERE name = ?`, [AGGREGATION_LEASE])
    ).rows;
    const token = Number(grant?.get('fencing_token') ?? assert.fail('a lease was granted'));
    const above = createWriteFence(token + 1)
      .nextTimestamp()
      .subtract(1);
    const groups = await cassandra.driver.execute(`SELECT DISTINCT url_key, country FROM ${keyspace}.day_totals`, [], {
      fetchSize: 10_000,
    });
    assert.ok(groups.rows.length > 0, 'stored groups');
    for (const row of groups.rows)
      await cassandra.driver.execute(
        `UPDATE ${keyspace}.day_totals USING TIMESTAMP ?
          SET all_days = null, all_clicks = null, all_time_spent_sum_ms = null, all_time_spent_samples = null WHERE url_key = ? AND country = ?`,
        [above, row.get('url_key'), row.get('country')],
        { prepare: true },
      );
    const unknown = await cassandra.driver.execute(`SELECT DISTINCT url_key, country, all_days FROM ${keyspace}.day_totals`, [], {
      fetchSize: 10_000,
    });
    assert.deepEqual(
      unknown.rows.filter((row) => row.get('all_days') !== null),
      [],
      'every sum unknown',
    );
    await es.driver.indices.delete({ index: `${alias}-v*` });
    const refill = await run();
    assert.ok(refill.republished > groups.rows.length, `${refill.republished} documents indexed again`);
    await assertMatchesReference();
  });

  test('when the record of open windows is lost (TRUNCATE open_windows), then the windows are still re-indexed as final once they end', async () => {
    await baseline();
    const hourMs = Date.UTC(2024, 4, 6, 10);
    const recent = [...createClickGenerator({ seed: 23, count: 200, startMs: hourMs, spanMs: 20 * 60_000 })].filter(
      (m): m is GeneratedClickMessage => m.kind === 'valid',
    );
    await store(recent.map((m) => toReferenceEvent(m.event)));
    clockMs = hourMs + 25 * 60_000;
    await run();
    assert.ok((await deps.state.listOpenWindows()).length >= 2, 'the hour and its day indexed as not final');
    // An operator's TRUNCATE (or a restore) of the record: nothing else says these documents
    // were indexed not final, and they stayed so for good.
    await cassandra.driver.execute(`TRUNCATE ${keyspace}.open_windows`);
    // Runs are a schedule apart; here the next follows at once: the documents must be searchable.
    await es.driver.indices.refresh({ index: alias });
    clockMs = hourMs + 2 * HOUR_MS;
    const summary = await run();
    assert.equal(summary.hours, 0, 'no new events');
    await assertMatchesReference();
  });
});
