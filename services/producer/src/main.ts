import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { createClickGenerator } from '@clickstream/clickgen';
import { ConfigError } from '@clickstream/config';
import { createKafkaClient, createMessageProducer, durableTopicSpec, ensureTopics, kafkaConnectionOf, pingKafka } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import { USAGE, parseCliArgs } from './cli-args.ts';
import type { ProducerRunOptions } from './cli-args.ts';
import { loadProducerConfig } from './config.ts';
import type { ProducerConfig } from './config.ts';
import { KafkaRefusedError, KafkaUnavailableError, kafkaConnectFailure } from './producer-errors.ts';
import { createProgressReporter, progressModeFor } from './progress.ts';
import type { ProgressMode } from './progress.ts';
import { ratePerSec } from './producer-summary.ts';
import type { ProducerSummary } from './producer-summary.ts';
import { acquire, batchSizeFor, burstFor, createRateLimiter } from './rate-limiter.ts';
import { sendClicks } from './send-clicks.ts';

export { parseCliArgs, USAGE } from './cli-args.ts';
export type { ProducerRunOptions } from './cli-args.ts';
export { loadProducerConfig } from './config.ts';
export type { ProducerConfig } from './config.ts';
export { KafkaRefusedError, KafkaSendError, KafkaUnavailableError } from './producer-errors.ts';
export type { ProgressMode } from './progress.ts';
export type { MessageCounts, ProducerSummary } from './producer-summary.ts';

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

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The `npm run produce` command. Resolves with the exit code: 0 done, 1 configuration or Kafka
 * failure, 2 bad flags, 130/143 stopped by SIGINT/SIGTERM (after the batch in flight).
 */
async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const parsed = parseCliArgs(argv, Date.now());
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`produce: ${parsed.message}\n\n${USAGE}\n`);
    return 2;
  }
  let config: ProducerConfig;
  try {
    config = loadProducerConfig(env);
  } catch (err) {
    // No logger yet: LOG_LEVEL itself may be the wrong variable.
    if (err instanceof ConfigError) {
      process.stderr.write(`produce: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ service: 'producer', level: config.LOG_LEVEL });

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT_CODES[signal] ?? 1); // a second Ctrl-C: do not wait
    logger.warn({ signal }, 'stopping after the batch in flight');
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runProducer({ run: parsed.options, config, logger, signal: controller.signal });
    return summary.stoppedBy === null ? 0 : (EXIT_CODES[summary.stoppedBy] ?? 1);
  } catch (err) {
    if (err instanceof KafkaUnavailableError || err instanceof KafkaRefusedError) {
      // An expected condition with a clear message: no stack trace.
      logger.error({ code: err.code, brokers: err.brokers }, err.message);
    } else {
      logger.error({ err }, err instanceof Error ? err.message : 'producer failed');
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
