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
import { createLogger, createMetricsRegistry, startOpsServer } from '@clickstream/observability';
import type { Logger, Readiness } from '@clickstream/observability';
import { createBatchHandler } from './batch-handler.ts';
import { loadIngestConfig } from './config.ts';
import type { IngestConfig } from './config.ts';
import { createIngestMetrics } from './ingest-metrics.ts';
import { createBatchProcessor } from './process-batch.ts';

export interface IngestService {
  readonly config: IngestConfig;
  readonly httpPort: number;
  /** Resolves with the exit code once the service stopped by itself (fatal error) or by `stop()`. */
  readonly stopped: Promise<number>;
  /** Graceful shutdown: stop consuming (the in-flight batch finishes or is abandoned uncommitted), disconnect. */
  stop(): Promise<void>;
}

/** Starts the ingest service; `env` is the environment to configure it from. */
export async function startIngest(env: Record<string, string | undefined>, logger?: Logger): Promise<IngestService> {
  const config = loadIngestConfig(env);
  const log = logger ?? createLogger({ service: 'ingest', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  let readiness: Readiness = { ready: false, reason: 'starting' };
  const ops = await startOpsServer({ port: config.HTTP_PORT, registry, readiness: () => readiness, logger: log });

  const kafka = createKafkaClient(kafkaConnectionOf(config), log);
  const cassandra = await connectCassandra(cassandraConnectionOf(config), log);
  await ensureSchema(cassandra, parseReplication(config.CASSANDRA_REPLICATION));
  const created = await ensureTopics(kafka, [
    { topic: config.KAFKA_TOPIC, partitions: config.KAFKA_TOPIC_PARTITIONS },
    { topic: config.KAFKA_DLQ_TOPIC, partitions: config.KAFKA_TOPIC_PARTITIONS },
  ]);
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
    events: createEventsRepository(cassandra, { concurrency: config.INGEST_WRITE_CONCURRENCY }),
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
    onRetrying: (retrying) => {
      if (!stopping) readiness = retrying ? { ready: false, reason: 'writes failing, retrying' } : { ready: true };
    },
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      readiness = { ready: false, reason: 'shutting down' };
      log.info('stopping: finishing or abandoning the in-flight batch (uncommitted)');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.INGEST_SHUTDOWN_TIMEOUT_MS).unref());
      const outcome = await Promise.race([consumer.stop().then(() => 'stopped' as const), timeout]);
      if (outcome === 'timeout')
        log.warn({ timeoutMs: config.INGEST_SHUTDOWN_TIMEOUT_MS }, 'in-flight batch abandoned, its offsets stay uncommitted');
      await Promise.allSettled([deadLetters.disconnect(), cassandra.shutdown(), ops.close()]);
      log.info({ exitCode }, 'stopped');
      resolveStopped(exitCode);
    })();
    return stopping;
  };

  const consumer = await startBatchConsumer(kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topic: config.KAFKA_TOPIC,
    fromBeginning: true,
    handleBatch,
    onFatal: (err) => {
      // Retries exhausted or the consumer crashed: exit non-zero without committing; the
      // orchestrator restarts the service and it resumes from the last committed offsets.
      log.fatal({ err }, 'ingest cannot continue; exiting without committing the current batch');
      exitCode = 1;
      void stop();
    },
  });
  readiness = { ready: true };
  log.info({ topic: config.KAFKA_TOPIC, groupId: config.KAFKA_GROUP_ID, dlq: config.KAFKA_DLQ_TOPIC }, 'ingest running');
  return { config, httpPort: ops.port, stopped, stop };
}

/** Runs the service until SIGTERM/SIGINT or a fatal error; exits 1 on bad configuration. */
async function main(): Promise<void> {
  let service: IngestService;
  try {
    service = await startIngest(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ingest: ${err.message}`);
    } else {
      createLogger({ service: 'ingest', level: 'info' }).fatal({ err }, 'ingest failed to start');
    }
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void service.stop());
  process.exitCode = await service.stopped;
  // kafkajs and the driver may keep timers alive; everything is closed by now.
  setTimeout(() => process.exit(), 1_000).unref();
}

if (import.meta.main) await main();
