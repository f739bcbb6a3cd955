/**
 * Aggregator service wiring: config -> logger -> clients -> schedule. On each tick of
 * AGGREGATOR_SCHEDULE (never overlapping), takes the Cassandra lease and recomputes the windows
 * ingest marked as pending, writing hour, day and all-time documents to Elasticsearch.
 * `--once` runs one pass and exits 0, or 1 when it failed.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import cron from 'node-cron';
import {
  cassandraConnectionOf,
  connectCassandra,
  createAggregatorStateRepository,
  createEventsRepository,
  createLeaseRepository,
  createPendingHoursRepository,
  ensureSchema,
} from '@clickstream/cassandra';
import { ConfigError, parseReplication } from '@clickstream/config';
import {
  createElasticsearchClient,
  createMetricsIndexer,
  deleteHourDocumentsBefore,
  elasticsearchConnectionOf,
  installMetricsIndex,
} from '@clickstream/elasticsearch';
import { createLogger, createMetricsRegistry, startOpsServer } from '@clickstream/observability';
import type { Logger, Readiness } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import { createAggregatorMetrics } from './aggregator-metrics.ts';
import type { RunOutcome } from './aggregator-metrics.ts';
import { createAggregatorRunner } from './aggregator-runner.ts';
import { runAggregation } from './aggregation-run.ts';
import type { AggregationDependencies } from './aggregation-run.ts';
import { loadAggregatorConfig } from './config.ts';
import type { AggregatorConfig } from './config.ts';

const DAY_S = 86_400;

export interface AggregatorService {
  readonly config: AggregatorConfig;
  readonly httpPort: number;
  /** One aggregation pass (after any pass in progress); resolves with its outcome, never rejects. */
  runOnce(): Promise<RunOutcome>;
  /** Resolves with the exit code once the service stopped. */
  readonly stopped: Promise<number>;
  /** Graceful shutdown: no new runs, the running one gets AGGREGATOR_SHUTDOWN_TIMEOUT_MS to finish, then is aborted; clients close. */
  stop(): Promise<void>;
}

/**
 * Starts the aggregator: connects, creates the Cassandra schema and the Elasticsearch template,
 * index and alias when missing, and (unless `schedule` is false) runs on AGGREGATOR_SCHEDULE.
 *
 * @param env the environment to configure it from.
 * @throws ConfigError naming the wrong variables.
 */
export async function startAggregator(
  env: Record<string, string | undefined>,
  logger?: Logger,
  options: { schedule?: boolean } = {},
): Promise<AggregatorService> {
  const config = loadAggregatorConfig(env);
  const log = logger ?? createLogger({ service: 'aggregator', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('aggregator');
  const metrics = createAggregatorMetrics(registry);
  let readiness: Readiness = { ready: false, reason: 'starting' };
  const ops = await startOpsServer({ port: config.HTTP_PORT, registry, readiness: () => readiness, logger: log });
  const retry = {
    attempts: config.AGGREGATOR_RETRY_ATTEMPTS,
    initialDelayMs: config.AGGREGATOR_RETRY_INITIAL_DELAY_MS,
    maxDelayMs: config.AGGREGATOR_RETRY_MAX_DELAY_MS,
  };

  const cassandra = await connectCassandra(cassandraConnectionOf(config), log);
  await ensureSchema(cassandra, parseReplication(config.CASSANDRA_REPLICATION), {
    eventsTtlSeconds: config.AGGREGATOR_EVENTS_TTL_DAYS * DAY_S,
  });
  const elasticsearch = createElasticsearchClient(elasticsearchConnectionOf(config), log);
  const names = await retryWithBackoff(
    'installing the metrics index',
    () =>
      installMetricsIndex(elasticsearch, {
        alias: config.ELASTICSEARCH_INDEX,
        shards: config.ELASTICSEARCH_SHARDS,
        replicas: config.ELASTICSEARCH_REPLICAS,
      }),
    retry,
    { onRetry: (err, attempt) => log.warn({ err, attempt }, 'metrics index not installed yet, retrying') },
  );

  // Built once: every run shares the repositories and the indexer.
  const aggregation: AggregationDependencies = {
    events: createEventsRepository(cassandra, { concurrency: config.AGGREGATOR_WRITE_CONCURRENCY }),
    pendingHours: createPendingHoursRepository(cassandra),
    state: createAggregatorStateRepository(cassandra, {
      concurrency: config.AGGREGATOR_WRITE_CONCURRENCY,
      userStateTtlSeconds: config.AGGREGATOR_USER_STATE_TTL_DAYS * DAY_S,
    }),
    indexer: createMetricsIndexer(elasticsearch, {
      alias: names.alias,
      bulkSize: config.AGGREGATOR_BULK_SIZE,
      retry,
      onRetry: (err, attempt, delayMs) => {
        metrics.retries.inc({ target: 'elasticsearch' });
        log.warn({ err, attempt, delayMs }, 'bulk write failed, retrying the failed items');
      },
    }),
    allowedLatenessMs: config.AGGREGATOR_ALLOWED_LATENESS_MS,
    eventsRetentionMs: config.AGGREGATOR_EVENTS_TTL_DAYS * DAY_S * 1_000,
    expireHourDocuments: {
      retentionMs: config.AGGREGATOR_HOUR_DOCUMENTS_RETENTION_DAYS * DAY_S * 1_000,
      deleteBefore: (cutoffMs) => deleteHourDocumentsBefore(elasticsearch, names.alias, cutoffMs),
    },
    hourConcurrency: config.AGGREGATOR_HOUR_CONCURRENCY,
    groupConcurrency: config.AGGREGATOR_GROUP_CONCURRENCY,
    bulkSize: config.AGGREGATOR_BULK_SIZE,
    retry,
    now: Date.now,
    logger: log,
    onRetry: (target) => metrics.retries.inc({ target }),
  };
  const runner = createAggregatorRunner({
    leases: createLeaseRepository(cassandra),
    holder: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: config.AGGREGATOR_LEASE_TTL_MS,
    metrics,
    logger: log,
    run: (grant) => runAggregation(aggregation, grant),
  });

  const runOnce = async (): Promise<RunOutcome> => {
    const outcome = await runner.runOnce();
    if (!stopping) readiness = outcome === 'failure' ? { ready: false, reason: 'the last aggregation run failed' } : { ready: true };
    return outcome;
  };
  const task =
    options.schedule === false
      ? undefined
      : cron.schedule(
          config.AGGREGATOR_SCHEDULE,
          () =>
            runner.runUnlessBusy().then((outcome) => {
              if (!stopping && outcome !== 'busy')
                readiness = outcome === 'failure' ? { ready: false, reason: 'the last aggregation run failed' } : { ready: true };
            }),
          { name: 'aggregation', noOverlap: true },
        );

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      readiness = { ready: false, reason: 'shutting down' };
      log.info('stopping: no new runs; waiting for the run in progress');
      await task?.destroy();
      const timeout = sleep(config.AGGREGATOR_SHUTDOWN_TIMEOUT_MS, 'timeout' as const, { ref: false });
      if ((await Promise.race([runner.idle().then(() => 'idle' as const), timeout])) === 'timeout') {
        log.warn({ timeoutMs: config.AGGREGATOR_SHUTDOWN_TIMEOUT_MS }, 'aborting the run in progress; its markers stay for the next run');
        runner.abort(new Error('aggregator shutting down'));
        await runner.idle();
      }
      await Promise.allSettled([cassandra.shutdown(), elasticsearch.close(), ops.close()]);
      log.info('stopped');
      resolveStopped(0);
    })();
    return stopping;
  };

  readiness = { ready: true };
  log.info(
    { alias: names.alias, index: names.index, schedule: task ? config.AGGREGATOR_SCHEDULE : null, keyspace: config.CASSANDRA_KEYSPACE },
    'aggregator running',
  );
  return { config, httpPort: ops.port, runOnce, stopped, stop };
}

/**
 * `--once`: one pass, then exit 0, or 1 when it failed. A pass refused because another replica
 * holds the lease is tried again until the lease's TTL has passed (the other run finishes or its
 * lease expires), so that `--once` really covers everything pending when it exits 0.
 */
async function runOnceAndExit(service: AggregatorService): Promise<number> {
  const deadline = Date.now() + service.config.AGGREGATOR_LEASE_TTL_MS + 5_000;
  let outcome = await service.runOnce();
  while (outcome === 'skipped' && Date.now() < deadline) {
    await sleep(1_000);
    outcome = await service.runOnce();
  }
  await service.stop();
  return outcome === 'success' ? 0 : 1;
}

/** Runs the service until SIGTERM/SIGINT (or one pass with `--once`); exits 1 on bad configuration or a failed start. */
async function main(): Promise<void> {
  const once = process.argv.slice(2).includes('--once');
  let service: AggregatorService;
  try {
    service = await startAggregator(process.env, undefined, { schedule: !once });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`aggregator: ${err.message}`);
    } else {
      createLogger({ service: 'aggregator', level: 'info' }).fatal({ err }, 'aggregator failed to start');
    }
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void service.stop());
  process.exitCode = once ? await runOnceAndExit(service) : await service.stopped;
  // The drivers may keep timers alive; everything is closed by now.
  setTimeout(() => process.exit(), 1_000).unref();
}

if (import.meta.main) await main();
