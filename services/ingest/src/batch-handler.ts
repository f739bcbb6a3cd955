import type { EventsRepository, PendingHoursRepository } from '@clickstream/cassandra';
import type { ConsumedBatch, MessageProducer } from '@clickstream/kafka';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import type { IngestMetrics } from './ingest-metrics.ts';
import type { ProcessedBatch } from './process-batch.ts';

/** Kafka failed to take the dead letters; retriable like any broker hiccup. */
export class DeadLetterPublishError extends Error {
  override readonly name = 'DeadLetterPublishError';
  readonly code = 'dead_letter_publish_failed';
  readonly retriable = true;
}

/**
 * Handles one consumed batch: processes it, writes the valid rows to Cassandra, publishes the
 * invalid messages to the dead-letter topic (acks = all) and records the affected hours for the
 * aggregator, each step retried with backoff when the failure is retriable. It resolves only when
 * all of that is durable, so the caller may then commit the batch's offsets; it rejects when
 * retries are exhausted (nothing committed). It returns early, uncommitted, when the consumer stops.
 */
export function createBatchHandler(dependencies: {
  process: (messages: ConsumedBatch['messages']) => ProcessedBatch;
  events: EventsRepository;
  pendingHours: PendingHoursRepository;
  deadLetters: MessageProducer;
  deadLetterTopic: string;
  retryPolicy: RetryPolicy;
  metrics: IngestMetrics;
  logger: Logger;
  onRetrying?: (retrying: boolean) => void;
}): (batch: ConsumedBatch) => Promise<void> {
  const { events, pendingHours, deadLetters, deadLetterTopic, retryPolicy, metrics, logger } = dependencies;
  return async (batch) => {
    const started = process.hrtime.bigint();
    const log = logger.child({ topic: batch.topic, partition: batch.partition, offset: batch.messages[0]?.offset });
    metrics.consumed.inc(batch.messages.length);
    const processed = dependencies.process(batch.messages);

    const withRetry = async (target: string, operation: () => Promise<void>): Promise<void> => {
      try {
        await retryWithBackoff(`${target} (batch at offset ${batch.messages[0]?.offset})`, operation, retryPolicy, {
          onRetry: (err, attempt, delayMs) => {
            metrics.retries.inc({ target });
            dependencies.onRetrying?.(true);
            log.warn({ err, attempt, delayMs, target }, 'write failed, retrying');
          },
        });
      } finally {
        dependencies.onRetrying?.(false);
      }
    };

    await withRetry('cassandra', () => events.writeEvents(processed.rows));
    if (!batch.isRunning()) return;
    await batch.heartbeat();
    await withRetry('dead-letter topic', async () => {
      try {
        await deadLetters.send(
          deadLetterTopic,
          processed.deadLetters.map((d) => ({ key: d.key, value: d.value, headers: { reason: d.reason } })),
        );
      } catch (err) {
        throw new DeadLetterPublishError(err instanceof Error ? err.message : String(err), { cause: err });
      }
    });
    // Markers last: the aggregator must find the rows once it sees a marker.
    await withRetry('cassandra', () => pendingHours.mark(processed.affectedHoursMs));

    metrics.stored.inc(processed.rows.length);
    for (const [hint, count] of Object.entries(processed.ignoredHints)) metrics.hintsIgnored.inc({ hint }, count);
    for (const dead of processed.deadLetters) {
      metrics.invalid.inc({ reason: dead.reason });
      log.info({ offset: dead.offset, reason: dead.reason }, 'invalid event sent to the dead-letter topic');
    }
    metrics.lag.set({ partition: String(batch.partition) }, batch.lagAfter);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.batchSeconds.observe(seconds);
    log.debug(
      { messages: batch.messages.length, stored: processed.rows.length, invalid: processed.deadLetters.length, seconds },
      'batch written',
    );
  };
}
