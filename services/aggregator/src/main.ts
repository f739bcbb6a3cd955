/**
 * Aggregator service wiring: config -> logger -> clients -> schedule. On each tick of
 * AGGREGATOR_SCHEDULE (never overlapping), takes the Cassandra lease and recomputes the windows
 * ingest marked as pending, writing hour, day and all-time documents to Elasticsearch.
 * `--once` runs one pass and exits 0, or 1 when it failed.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cassandraConnectionOf,
  connectCassandra,
  createAggregatorStateRepository,
  createEventsRepository,
  createLeaseRepository,
  createPendingHoursRepository,
  ensureSchema,
  fenceTokenOf,
  highestReleasedToken,
  pingCassandra,
  readCassandraTimeMs,
  readEventsTtlHistory,
} from '@clickstream/cassandra';
import { parseCommandLine } from '@clickstream/config';
import {
  metricsUnreadableReason,
  checkCredentialsAccepted,
  checkMetricsReadable,
  createElasticsearchClient,
  createMetricsIndexer,
  deleteHourDocumentsBefore,
  elasticsearchConnectionOf,
  identifyMetricsIndex,
  installMetricsIndex,
  latestMetricsVersion,
  metricsIndexNames,
  windowsLeftNotFinal,
} from '@clickstream/elasticsearch';
import { DEPENDENCY_PROBE_TIMEOUT_MS, exitProcess, runService, watchDependency, startService } from '@clickstream/lifecycle';
import type { RunningService, ServiceDefinition } from '@clickstream/lifecycle';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import { createAggregatorMetrics } from './aggregator-metrics.ts';
import type { RunOutcome } from './aggregator-metrics.ts';
import { createAggregatorRunner } from './aggregator-runner.ts';
import { startAggregationSchedule } from './aggregation-schedule.ts';
import { runAggregation } from './aggregation-run.ts';
import type { AggregationDependencies } from './run-context.ts';
import { DAY_S, loadAggregatorConfig } from './config.ts';
import type { AggregatorConfig } from './config.ts';
import { closeEarlierLeases, metricsIndexOptions, retryPolicyOf, schemaOptions } from './store-setup.ts';

export interface AggregatorApi {
  /** One aggregation pass (after any pass in progress); resolves with its outcome, never rejects. */
  readonly runOnce: () => Promise<RunOutcome>;
}
export type AggregatorService = RunningService<AggregatorConfig, AggregatorApi> & AggregatorApi;

/** Windows left not final (their open record lost) that one run finalises at most; the next run takes the rest. */
const WINDOWS_LEFT_NOT_FINAL_PER_RUN = 1_000;

/**
 * The aggregator as the lifecycle runs it: connects, creates the Cassandra schema and the
 * Elasticsearch template, index and alias when missing, and (unless `schedule` is false) runs on
 * AGGREGATOR_SCHEDULE. Stopping: no new runs, the running one gets AGGREGATOR_SHUTDOWN_TIMEOUT_MS
 * to finish, then is aborted (its markers stay for the next run).
 */
export function aggregatorService(options: { schedule?: boolean } = {}): ServiceDefinition<AggregatorConfig, AggregatorApi> {
  return {
    name: 'aggregator',
    loadConfig: loadAggregatorConfig,
    shutdownTimeoutMs: (config) => config.AGGREGATOR_SHUTDOWN_TIMEOUT_MS,
    start: async ({ config, logger, registry, onDrain, onClose, addReadinessCheck, addLivenessCheck }) => {
      const metrics = createAggregatorMetrics(registry);
      const retry = retryPolicyOf(config);

      const cassandra = await connectCassandra(cassandraConnectionOf(config), logger);
      onClose('cassandra', () => cassandra.shutdown());
      if (config.MIGRATE_ON_START) await ensureSchema(cassandra, config.CASSANDRA_REPLICATION, schemaOptions(config, logger));
      // Every start, with or without the schema step: an earlier release's replica must never take
      // a lease again once this one may have written (it would write below this release's timestamps).
      await closeEarlierLeases(cassandra, retry, logger);
      const elasticsearch = createElasticsearchClient(elasticsearchConnectionOf(config), logger);
      onClose('elasticsearch', () => elasticsearch.close());
      // Refused credentials stop the start (exit 1 naming Elasticsearch) like Cassandra's above,
      // rather than a service that runs, never ready, with every run failing.
      await checkCredentialsAccepted(elasticsearch, config.ELASTICSEARCH_INDEX, DEPENDENCY_PROBE_TIMEOUT_MS);
      const names = config.MIGRATE_ON_START
        ? await retryWithBackoff(
            'installing the metrics index',
            () => installMetricsIndex(elasticsearch, metricsIndexOptions(config)),
            retry,
            {
              onRetry: (err, attempt) => logger.warn({ err, attempt }, 'metrics index not installed yet, retrying'),
            },
          )
        : metricsIndexNames(config.ELASTICSEARCH_INDEX);

      // Built once: every run shares the repositories and the indexer.
      const aggregation: AggregationDependencies = {
        events: createEventsRepository(cassandra, { concurrency: config.AGGREGATOR_WRITE_CONCURRENCY }),
        pendingHours: createPendingHoursRepository(cassandra),
        state: createAggregatorStateRepository(cassandra, {
          concurrency: config.AGGREGATOR_WRITE_CONCURRENCY,
          userStateTtlSeconds: config.AGGREGATOR_USER_STATE_TTL_DAYS * DAY_S,
        }),
        metricsIndex: {
          alias: names.alias,
          // Without MIGRATE_ON_START the service has no right to create it: a missing alias fails the run, and says so.
          identify: () => identifyMetricsIndex(elasticsearch, { ...metricsIndexOptions(config), install: config.MIGRATE_ON_START }),
          windowsLeftNotFinal: (endedBeforeMs) =>
            windowsLeftNotFinal(elasticsearch, names.alias, endedBeforeMs, WINDOWS_LEFT_NOT_FINAL_PER_RUN),
        },
        indexer: createMetricsIndexer(elasticsearch, {
          alias: names.alias,
          bulkSize: config.AGGREGATOR_BULK_SIZE,
          retry,
          onRetry: (err, attempt, delayMs) => {
            metrics.retries.inc({ target: 'elasticsearch' });
            logger.warn({ err, attempt, delayMs }, 'bulk write failed, retrying the failed items');
          },
          onQuarantine: (records) => metrics.quarantined.inc(records.length),
        }),
        allowedLatenessMs: config.AGGREGATOR_ALLOWED_LATENESS_MS,
        eventsRetentionMs: config.AGGREGATOR_EVENTS_TTL_DAYS * DAY_S * 1_000,
        eventsTtl: () => readEventsTtlHistory(cassandra),
        expireHourDocuments: {
          retentionMs: config.AGGREGATOR_HOUR_DOCUMENTS_RETENTION_DAYS * DAY_S * 1_000,
          deleteBefore: (cutoffMs) => deleteHourDocumentsBefore(elasticsearch, names.alias, cutoffMs),
        },
        maxEventsInMemory: config.AGGREGATOR_MAX_EVENTS_IN_MEMORY,
        maxGroupsInMemory: config.AGGREGATOR_MAX_GROUPS_IN_MEMORY,
        hourConcurrency: config.AGGREGATOR_HOUR_CONCURRENCY,
        groupConcurrency: config.AGGREGATOR_GROUP_CONCURRENCY,
        newGroupUsersHeld: config.AGGREGATOR_NEW_GROUP_USERS_HELD,
        bulkSize: config.AGGREGATOR_BULK_SIZE,
        retry,
        now: () => readCassandraTimeMs(cassandra),
        logger,
        onRetry: (target) => metrics.retries.inc({ target }),
      };
      const runner = createAggregatorRunner({
        leases: createLeaseRepository(cassandra, {
          // The lease's token lost (its row truncated or deleted, a new keyspace beside a kept
          // index): the next grant goes past every token the stores hold writes of.
          highestTokenUsed: async () => {
            const [released, version] = await Promise.all([
              highestReleasedToken(cassandra),
              latestMetricsVersion(elasticsearch, names.alias),
            ]);
            return Math.max(released, version === undefined ? 0 : fenceTokenOf({ version }));
          },
        }),
        holder: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseTtlMs: config.AGGREGATOR_LEASE_TTL_MS,
        leaseRetry: retry,
        metrics,
        logger,
        run: (grant) => runAggregation(aggregation, grant),
      });

      let lastRunFailed = false;
      addReadinessCheck(() => (lastRunFailed ? { ready: false, reason: 'the last aggregation run failed' } : { ready: true }));
      // Ready while both stores answer, checked between runs too: a run may be an hour away.
      const probes = [
        watchDependency(
          { onClose, addReadinessCheck },
          {
            dependency: 'Cassandra',
            check: () => pingCassandra(cassandra, { timeoutMs: DEPENDENCY_PROBE_TIMEOUT_MS }),
            logger,
          },
        ),
        watchDependency(
          { onClose, addReadinessCheck },
          {
            dependency: 'Elasticsearch',
            check: () => checkMetricsReadable(elasticsearch, names.alias, DEPENDENCY_PROBE_TIMEOUT_MS),
            reasonOf: metricsUnreadableReason,
            logger,
          },
        ),
      ];
      await Promise.all(probes.map((probe) => probe.checkNow()));
      const recordOutcome = (outcome: RunOutcome | 'busy'): RunOutcome | 'busy' => {
        if (outcome !== 'busy') lastRunFailed = outcome === 'failure';
        return outcome;
      };
      if (options.schedule !== false)
        startAggregationSchedule(
          { onDrain, addLivenessCheck },
          { expression: config.AGGREGATOR_SCHEDULE, run: () => runner.runUnlessBusy().then(recordOutcome), logger },
        );
      // After the schedule's drain: no new runs, then the one in progress finishes or is aborted.
      onDrain(
        'aggregation run',
        () => runner.idle(),
        async () => {
          runner.abort(new Error('aggregator shutting down'));
          await runner.idle();
        },
      );
      logger.info(
        {
          alias: names.alias,
          index: names.index,
          schedule: options.schedule === false ? null : config.AGGREGATOR_SCHEDULE,
          keyspace: config.CASSANDRA_KEYSPACE,
        },
        'aggregator running',
      );
      return { runOnce: async () => recordOutcome(await runner.runOnce()) as RunOutcome };
    },
  };
}

/** Starts the aggregator (tests); `env` is the environment to configure it from. Throws ConfigError naming the wrong variables. */
export async function startAggregator(
  env: Record<string, string | undefined>,
  logger?: Logger,
  options: { schedule?: boolean } = {},
): Promise<AggregatorService> {
  const service = await startService(aggregatorService(options), env, logger ? { logger } : {});
  return { ...service, runOnce: service.api.runOnce };
}

/**
 * `--once`: one pass, then exit 0, or 1 when it failed. A pass refused because another replica
 * holds the lease is tried again until the lease's TTL has passed (the other run finishes or its
 * lease expires), so that `--once` really covers everything pending when it exits 0.
 */
async function runOnceAndExit(service: RunningService<AggregatorConfig, AggregatorApi>): Promise<number> {
  // Monotonic, so that a step of the wall clock neither ends the wait early nor stretches it.
  const deadline = performance.now() + service.config.AGGREGATOR_LEASE_TTL_MS + 5_000;
  let outcome = await service.api.runOnce();
  while (outcome === 'skipped' && performance.now() < deadline && service.state() === 'running') {
    await sleep(1_000);
    outcome = await service.api.runOnce();
  }
  const code = outcome === 'success' ? 0 : 1;
  await service.stop(code);
  return code;
}

if (import.meta.main) {
  const { once = false } = parseCommandLine({ once: { type: 'boolean' } }, 'usage: npm run aggregator [-- --once]');
  // `--once` is a command, often run beside the service (`kubectl exec`, `docker compose exec`),
  // whose HTTP_PORT it would find taken: its ops endpoints listen on a free port instead.
  const env = once ? { ...process.env, HTTP_PORT: '0' } : process.env;
  exitProcess(await runService(aggregatorService({ schedule: !once }), { env, ...(once ? { run: runOnceAndExit } : {}) }));
}
