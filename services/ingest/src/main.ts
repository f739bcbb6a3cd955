/**
 * Ingest service wiring: config -> logger -> clients -> consumer, run by the shared lifecycle.
 * Consumes click events from Kafka, validates and enriches them, writes them to Cassandra and the
 * invalid ones to the dead-letter topic; offsets are committed only once a batch is durable.
 */
import {
  cassandraConnectionOf,
  connectCassandra,
  createEventsRepository,
  watchCassandraClock,
  watchEventsTtl,
  createPendingHoursRepository,
  ensureSchema,
} from '@clickstream/cassandra';
import { parseCommandLine } from '@clickstream/config';
import { createEnricher, createGeoLookup, createUserAgentParser, geoDatabaseDate } from '@clickstream/enrichment';
import { createKafkaClient, createMessageProducer, kafkaConnectionOf, pingKafka, startBatchConsumer } from '@clickstream/kafka';
import { DEPENDENCY_PROBE_TIMEOUT_MS, exitProcess, runService, watchDependency, startService } from '@clickstream/lifecycle';
import type { RunningService, ServiceDefinition } from '@clickstream/lifecycle';
import type { Logger } from '@clickstream/observability';
import { createBatchHandler } from './batch-handler.ts';
import { loadIngestConfig } from './config.ts';
import type { IngestConfig } from './config.ts';
import { createIngestHealth } from './ingest-health.ts';
import { createIngestMetrics } from './ingest-metrics.ts';
import { startLagMonitor } from './lag-monitor.ts';
import { createBatchProcessor } from './process-batch.ts';
import { geoDatabaseNotice } from './geo-database-age.ts';
import { ensureIngestTopics } from './topic-specs.ts';

export type IngestService = RunningService<IngestConfig, void>;

/**
 * How often ingest reads again what it takes from Cassandra: the events table's TTL (the schema
 * step may change it while ingest runs) and Cassandra's clock.
 */
const CASSANDRA_REREAD_MS = 60_000;

/** The ingest service as the lifecycle runs it; stopping lets the in-flight batches finish or abandons them uncommitted. */
export const ingestService: ServiceDefinition<IngestConfig, void> = {
  name: 'ingest',
  loadConfig: loadIngestConfig,
  shutdownTimeoutMs: (config) => config.INGEST_SHUTDOWN_TIMEOUT_MS,
  async start({ config, logger, registry, onDrain, onClose, addReadinessCheck, addLivenessCheck, fail }) {
    const metrics = createIngestMetrics(registry);
    const health = createIngestHealth({ storeStallMs: config.INGEST_STORE_STALL_MS, progressStallMs: config.INGEST_PROGRESS_STALL_MS });
    addReadinessCheck(() => health.readiness());
    addLivenessCheck(() => health.liveness());
    const geo = geoDatabaseNotice(geoDatabaseDate(config.GEODATADIR), Date.now());
    logger[geo.level](geo.fields, geo.msg);
    const kafka = createKafkaClient(kafkaConnectionOf(config), logger);
    // Ready while a fresh connection gets the cluster's metadata. Its own client: each request
    // bounded by the probe's timeout, no kafkajs retries, and kafkajs's lines silenced (the probe
    // logs the outage once, where the consumer's client logs every reconnection).
    const kafkaProbeClient = createKafkaClient(
      { ...kafkaConnectionOf(config), requestTimeoutMs: DEPENDENCY_PROBE_TIMEOUT_MS, retries: 0 },
      logger.child({ component: 'kafka-probe' }, { level: 'fatal' }),
    );
    const kafkaProbe = watchDependency(
      { onClose, addReadinessCheck },
      { dependency: 'Kafka', check: () => pingKafka(kafkaProbeClient), logger },
    );
    const cassandra = await connectCassandra(cassandraConnectionOf(config), logger);
    onClose('cassandra', () => cassandra.shutdown());
    if (config.MIGRATE_ON_START) {
      await ensureSchema(cassandra, config.CASSANDRA_REPLICATION, { logger });
      await ensureIngestTopics(kafka, config, logger);
    }
    // Rows dated ahead of their ingestion get the retention past their own time (see createEventsRepository).
    const eventsTtl = await watchEventsTtl(cassandra, { intervalMs: CASSANDRA_REREAD_MS });
    onClose('events TTL watch', () => eventsTtl.stop());
    // Ingest time is Cassandra's, the clock its TTLs count by, not this node's: a node two hours
    // behind dead-lettered valid clicks dated 23 h ahead as "in the future", and a node ahead
    // would shorten the retention of rows dated ahead of their ingestion.
    const clock = await watchCassandraClock(cassandra, { intervalMs: CASSANDRA_REREAD_MS });
    onClose('Cassandra clock watch', () => clock.stop());
    const deadLetters = await createMessageProducer(kafka);
    onClose('dead-letter producer', () => deadLetters.disconnect());

    const now = (): Date => new Date(clock.nowMs());
    const handleBatch = createBatchHandler({
      process: createBatchProcessor({
        enrich: createEnricher({
          geo: createGeoLookup(),
          userAgents: createUserAgentParser({ cacheSize: config.INGEST_UA_CACHE_SIZE }),
          ipPolicy: config.INGEST_IP_POLICY,
        }),
        now,
      }),
      events: createEventsRepository(cassandra, {
        concurrency: config.INGEST_WRITE_CONCURRENCY,
        maxBatchBytes: config.INGEST_WRITE_BATCH_MAX_BYTES,
        maxBatchRows: config.INGEST_WRITE_BATCH_MAX_ROWS,
        eventsTtlSeconds: () => eventsTtl.seconds(),
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
      logger,
      onRetrying: (retrying) => health.setRetrying(retrying),
      storeWatch: health,
      now,
    });

    const consumer = await startBatchConsumer(kafka, {
      groupId: config.KAFKA_GROUP_ID,
      topic: config.KAFKA_TOPIC,
      fromBeginning: true,
      partitionsConcurrently: config.INGEST_PARTITIONS_CONCURRENTLY,
      maxBatchesInFlight: config.INGEST_BATCHES_IN_FLIGHT,
      maxMessagesPerBatch: config.INGEST_BATCH_MAX_MESSAGES,
      maxBytesPerPartition: config.INGEST_FETCH_MAX_BYTES_PER_PARTITION,
      maxBytes: config.INGEST_FETCH_MAX_BYTES,
      handleBatch,
      onCommit: () => health.progressed(),
      onCrash: (err, recovering) => logger.warn({ err, recovering }, 'Kafka consumer crashed'),
      logger,
      // Retries exhausted or a permanent Kafka error: exit non-zero without committing; the
      // orchestrator restarts the service and it resumes from the last committed offsets.
      onFatal: (err) => fail(err, 'ingest cannot continue; exiting without committing the current batch'),
    });
    // Not ready while the consumer is out of its group (the topic deleted, say): it consumes nothing.
    addReadinessCheck(() => {
      const problem = consumer.problem();
      return problem === undefined ? { ready: true } : { ready: false, reason: problem };
    });
    onDrain(
      'consumer',
      () => consumer.stop(),
      () => logger.warn('in-flight batches abandoned, their offsets stay uncommitted'),
    );
    const lagMonitor = startLagMonitor(kafka, {
      groupId: config.KAFKA_GROUP_ID,
      topic: config.KAFKA_TOPIC,
      intervalMs: config.INGEST_LAG_POLL_INTERVAL_MS,
      assigned: () => consumer.assignedPartitions(),
      metrics,
      onLag: (total) => health.setLag(total),
      logger,
    });
    onClose('lag monitor', () => lagMonitor.stop());
    await kafkaProbe.checkNow();
    logger.info({ topic: config.KAFKA_TOPIC, groupId: config.KAFKA_GROUP_ID, dlq: config.KAFKA_DLQ_TOPIC }, 'ingest running');
  },
};

/** Starts the ingest service (tests, benchmarks); `env` is the environment to configure it from. */
export function startIngest(env: Record<string, string | undefined>, logger?: Logger): Promise<IngestService> {
  return startService(ingestService, env, logger ? { logger } : {});
}

if (import.meta.main) {
  parseCommandLine({}, 'usage: npm run ingest   (no arguments; configured by environment variables)');
  exitProcess(await runService(ingestService, { env: process.env }));
}
