/**
 * Ingest service wiring: config -> logger -> clients -> consumer. Consumes click events from
 * Kafka, validates and enriches them, writes them to Cassandra and the invalid ones to the
 * dead-letter topic; offsets are committed only once a batch is durable.
 */
import {
  cassandraConnectionOf,
  connectCassandra,
  createEventsRepository,
  createPendingHoursRepository,
  ensureSchema,
} from '@clickstream/cassandra';
import { ConfigError, parseReplication } from '@clickstream/config';
import { createEnricher, createGeoLookup, createUserAgentParser } from '@clickstream/enrichment';
import { createKafkaClient, createMessageProducer, ensureTopics, kafkaConnectionOf, startBatchConsumer } from '@clickstream/kafka';
import type { BatchConsumer } from '@clickstream/kafka';
import { createLogger, createMetricsRegistry, startOpsServer } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import { createBatchHandler } from './batch-handler.ts';
import { loadIngestConfig } from './config.ts';
import type { IngestConfig } from './config.ts';
import { createIngestHealth } from './ingest-health.ts';
import type { Liveness } from './ingest-health.ts';
import { createIngestMetrics, startLagMonitor } from './ingest-metrics.ts';
import { createBatchProcessor } from './process-batch.ts';
import { topicSpecs } from './topic-specs.ts';

export interface IngestService {
  readonly config: IngestConfig;
  readonly httpPort: number;
  /** Resolves with the exit code once the service stopped by itself (fatal error) or by `stop()`. */
  readonly stopped: Promise<number>;
  /** For `/healthz`: unhealthy when the consumer made no progress while lag > 0 for INGEST_PROGRESS_STALL_MS. */
  liveness(): Liveness;
  /** Graceful shutdown: stop consuming (the in-flight batch finishes or is abandoned uncommitted), disconnect. */
  stop(): Promise<void>;
}

/** Starts the ingest service; `env` is the environment to configure it from. */
export async function startIngest(env: Record<string, string | undefined>, logger?: Logger): Promise<IngestService> {
  const config = loadIngestConfig(env);
  const log = logger ?? createLogger({ service: 'ingest', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const health = createIngestHealth({ storeStallMs: config.INGEST_STORE_STALL_MS, progressStallMs: config.INGEST_PROGRESS_STALL_MS });
  const ops = await startOpsServer({ port: config.HTTP_PORT, registry, readiness: () => health.readiness(), logger: log });

  const kafka = createKafkaClient(kafkaConnectionOf(config), log);
  const cassandra = await connectCassandra(cassandraConnectionOf(config), log);
  await ensureSchema(cassandra, parseReplication(config.CASSANDRA_REPLICATION));
  const created = await ensureTopics(kafka, topicSpecs(config));
  if (created.length > 0) log.info({ topics: created }, 'created missing topics');
  const deadLetters = await createMessageProducer(kafka);

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  let exitCode = 0;

  const handleBatch = createBatchHandler({
    process: createBatchProcessor({
      enrich: createEnricher({
        geo: createGeoLookup(),
        userAgents: createUserAgentParser({ cacheSize: config.INGEST_UA_CACHE_SIZE }),
        ipPolicy: config.INGEST_IP_POLICY,
      }),
      now: () => new Date(),
    }),
    events: createEventsRepository(cassandra, {
      concurrency: config.INGEST_WRITE_CONCURRENCY,
      maxBatchBytes: config.INGEST_WRITE_BATCH_MAX_BYTES,
      maxBatchRows: config.INGEST_WRITE_BATCH_MAX_ROWS,
    }),
    pendingHours: createPendingHoursRepository(cassandra),
    deadLetters,
    deadLetterTopic: config.KAFKA_DLQ_TOPIC,
    retryPolicy: {
      attempts: config.INGEST_RETRY_ATTEMPTS,
      initialDelayMs: config.INGEST_RETRY_INITIAL_DELAY_MS,
      maxDelayMs: config.INGEST_RETRY_MAX_DELAY_MS,
    },
    metrics,
    logger: log,
    onRetrying: (retrying) => health.setRetrying(retrying),
    storeWatch: health,
  });
  // Filled in once started; stop() may run before (a crash while joining the group).
  const started: { consumer?: BatchConsumer; lagMonitor?: { stop(): Promise<void> } } = {};

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.setRunning(false);
      log.info('stopping: finishing or abandoning the in-flight batches (uncommitted)');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.INGEST_SHUTDOWN_TIMEOUT_MS).unref());
      const outcome = await Promise.race([(started.consumer?.stop() ?? Promise.resolve()).then(() => 'stopped' as const), timeout]);
      if (outcome === 'timeout')
        log.warn({ timeoutMs: config.INGEST_SHUTDOWN_TIMEOUT_MS }, 'in-flight batch abandoned, its offsets stay uncommitted');
      await Promise.allSettled([started.lagMonitor?.stop(), deadLetters.disconnect(), cassandra.shutdown(), ops.close()]);
      log.info({ exitCode }, 'stopped');
      resolveStopped(exitCode);
    })();
    return stopping;
  };

  const consumer = await startBatchConsumer(kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topic: config.KAFKA_TOPIC,
    fromBeginning: true,
    partitionsConcurrently: config.INGEST_PARTITIONS_CONCURRENTLY,
    maxBatchesInFlight: config.INGEST_BATCHES_IN_FLIGHT,
    maxBytesPerPartition: config.INGEST_FETCH_MAX_BYTES_PER_PARTITION,
    handleBatch,
    onCommit: () => health.progressed(),
    onCrash: (err, recovering) => log.warn({ err, recovering }, 'Kafka consumer crashed'),
    onFatal: (err) => {
      // Retries exhausted or the consumer crashed: exit non-zero without committing; the
      // orchestrator restarts the service and it resumes from the last committed offsets.
      log.fatal({ err }, 'ingest cannot continue; exiting without committing the current batch');
      exitCode = 1;
      void stop();
    },
  });
  started.consumer = consumer;
  if (stopping) await consumer.stop().catch(() => undefined);
  started.lagMonitor = startLagMonitor(kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topic: config.KAFKA_TOPIC,
    intervalMs: config.INGEST_LAG_POLL_INTERVAL_MS,
    assigned: () => consumer.assignedPartitions(),
    metrics,
    onLag: (total) => health.setLag(total),
    logger: log,
  });
  health.setRunning(!stopping);
  log.info({ topic: config.KAFKA_TOPIC, groupId: config.KAFKA_GROUP_ID, dlq: config.KAFKA_DLQ_TOPIC }, 'ingest running');
  return { config, httpPort: ops.port, stopped, stop, liveness: () => health.liveness() };
}

/** Runs the service until SIGTERM/SIGINT or a fatal error; exits 1 on bad configuration. */
async function main(): Promise<void> {
  let service: IngestService;
  try {
    service = await startIngest(process.env);
  } catch (err) {
    const logger = createLogger({ service: 'ingest', level: 'info' });
    if (err instanceof ConfigError) logger.fatal({ code: 'config_error' }, `ingest: ${err.message}`);
    else logger.fatal({ err }, 'ingest failed to start');
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void service.stop());
  process.exitCode = await service.stopped;
  // kafkajs and the driver may keep timers alive; everything is closed by now.
  setTimeout(() => process.exit(), 1_000).unref();
}

if (import.meta.main) await main();
