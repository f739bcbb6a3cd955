/** The producer's one procedure: generate, create the topic when missing, send paced batches with progress. */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { createClickGenerator } from '@clickstream/clickgen';
import { createKafkaClient, createMessageProducer, durableTopicSpec, ensureTopics, kafkaConnectionOf, pingKafka } from '@clickstream/kafka';
import type { Logger } from '@clickstream/observability';
import type { ProducerRunOptions } from './cli-args.ts';
import type { ProducerConfig } from './config.ts';
import { kafkaConnectFailure } from './producer-errors.ts';
import { createProgressReporter, progressModeFor } from './progress.ts';
import type { ProgressMode } from './progress.ts';
import { ratePerSec } from './producer-summary.ts';
import type { ProducerSummary } from './producer-summary.ts';
import { acquire, batchSizeFor, burstFor, createRateLimiter } from './rate-limiter.ts';
import { sendClicks } from './send-clicks.ts';

export interface RunProducerOptions {
  run: ProducerRunOptions;
  config: ProducerConfig;
  logger: Logger;
  /** Default: a bar when `output` is a terminal, JSON log lines otherwise. */
  progress?: ProgressMode;
  /** Where the bar and its summary line go. Default: stdout. */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting stops the run after the batch in flight; its reason (e.g. 'SIGINT') becomes `stoppedBy`. */
  signal?: AbortSignal;
}

/**
 * Sends `run.count` generated clicks to the topic (created as ingest creates it when missing:
 * KAFKA_TOPIC_PARTITIONS, KAFKA_TOPIC_REPLICATION_FACTOR, KAFKA_TOPIC_MIN_INSYNC_REPLICAS), keyed
 * by user id, in batches acknowledged by all in-sync replicas, paced to `run.ratePerSec`. Resolves with what was acknowledged. Rejects with KafkaUnavailableError when
 * no broker answers (nothing sent), KafkaRefusedError when the brokers refuse the credentials (nothing sent), KafkaSendError when a batch fails after the client's retries.
 * Not idempotent: a second run sends the same clicks again (ingest deduplicates by event id).
 */
export async function runProducer(options: RunProducerOptions): Promise<ProducerSummary> {
  const { run, config, logger, signal } = options;
  const topic = run.topic ?? config.KAFKA_TOPIC;
  const output = options.output ?? process.stdout;
  // Validates the generator options before any connection is made.
  const messages = createClickGenerator({
    seed: run.seed,
    count: run.count,
    startMs: run.startMs,
    spanMs: run.spanMs,
    nowMs: run.nowMs,
    invalidRatio: run.invalidRatio,
    duplicateRatio: run.duplicateRatio,
    ...(run.users === null ? {} : { users: run.users }),
  });

  // A quick, quiet probe first: the main client's retries (kept for sends) would take ~10 s and
  // a dozen kafkajs error lines to say that no broker answers.
  const probe = createKafkaClient({ ...kafkaConnectionOf(config), retries: 1 }, logger.child({}, { level: 'silent' }));
  try {
    await pingKafka(probe);
  } catch (err) {
    throw kafkaConnectFailure(config.KAFKA_BROKERS, err);
  }
  const client = createKafkaClient(kafkaConnectionOf(config), logger);
  // Created as ingest creates it (replication, min.insync.replicas), not with the brokers' defaults.
  const created = await ensureTopics(client, [durableTopicSpec(topic, config)]);
  const log = logger.child({ topic });
  log.info(
    {
      count: run.count,
      ratePerSec: run.ratePerSec,
      seed: run.seed,
      invalidRatio: run.invalidRatio,
      duplicateRatio: run.duplicateRatio,
      spanMs: run.spanMs,
      topicCreated: created.length > 0,
    },
    'producing clicks',
  );

  const producer = await createMessageProducer(client);
  const batchSize = batchSizeFor(run.ratePerSec);
  const sleep = async (ms: number): Promise<boolean> => {
    try {
      await sleepMs(ms, undefined, signal ? { signal } : {});
      return true;
    } catch (err) {
      if (signal?.aborted) return false;
      throw err;
    }
  };
  const limiter =
    run.ratePerSec === null
      ? null
      : createRateLimiter({ ratePerSec: run.ratePerSec, burst: burstFor(batchSize), nowMs: () => performance.now() });
  const progress = createProgressReporter({
    mode: options.progress ?? progressModeFor(output),
    total: run.count,
    logger: log,
    stream: output,
    nowMs: () => performance.now(),
  });
  const startMs = performance.now();
  try {
    const { counts, stopped } = await sendClicks({
      messages,
      topic,
      send: (batch) => producer.send(topic, batch),
      batchSize,
      pace: (size) => (limiter === null ? Promise.resolve(true) : acquire(limiter, size, sleep)),
      onBatch: (counts) => progress.update(counts),
      ...(signal ? { signal } : {}),
    });
    const durationMs = Math.round(performance.now() - startMs);
    const summary: ProducerSummary = {
      topic,
      requested: run.count,
      ...counts,
      durationMs,
      ratePerSec: ratePerSec(counts.sent, durationMs),
      stoppedBy: stopped ? stopReason(signal) : null,
    };
    progress.finish(summary);
    return summary;
  } finally {
    progress.close();
    await producer.disconnect();
  }
}

function stopReason(signal: AbortSignal | undefined): string {
  return typeof signal?.reason === 'string' ? signal.reason : 'abort';
}
