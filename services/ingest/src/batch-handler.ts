import type { EventsRepository, PendingHoursRepository, RejectedEvent } from '@clickstream/cassandra';
import type { EnrichedClick } from '@clickstream/events';
import { brokerErrorType } from '@clickstream/kafka';
import type { ConsumedBatch, MessageProducer } from '@clickstream/kafka';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import type { IngestMetrics } from './ingest-metrics.ts';
import { createCoalescedMarks } from './coalesced-marks.ts';
import { toDeadLetter } from './process-batch.ts';
import { DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES } from './topic-specs.ts';
import type { DeadLetterMessage, ProcessedBatch } from './process-batch.ts';

/** Kafka failed to take the dead letters; retriable like any broker hiccup. */
export class DeadLetterPublishError extends Error {
  override readonly name = 'DeadLetterPublishError';
  readonly code = 'dead_letter_publish_failed';
  readonly retriable = true;
}

/** The broker's two answers to a record over the topic's `max.message.bytes`. */
const TOO_LARGE = `a dead letter is larger than its max.message.bytes (ingest creates it with ${DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES})`;

/**
 * What an operator should know when the dead-letter topic refuses dead letters for a cause its own
 * settings explain (it was deleted, or recreated with other settings), by the broker's error type.
 * Ingest retries and then exits; on a restart the same batch is refused again until it is fixed.
 */
const DEAD_LETTER_REFUSALS: Readonly<Record<string, string>> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'it does not exist (deleted?); npm run migrate, or ingest started with MIGRATE_ON_START, creates it',
  MESSAGE_TOO_LARGE: TOO_LARGE,
  RECORD_LIST_TOO_LARGE: TOO_LARGE,
  INVALID_RECORD:
    'the broker refused the record as invalid: a topic with cleanup.policy=compact refuses a record without a key (and would drop older dead letters of one key); it needs cleanup.policy=delete',
};

/** The batch was abandoned (rebalance, consumer stopping) between two steps: stop, commit nothing. */
class BatchAbandoned extends Error {
  override readonly name = 'BatchAbandoned';
  readonly code = 'batch_abandoned';
  readonly retriable = false;
}

/** Tracks store operations so readiness can see one that has not returned for too long. */
export interface StoreWatch {
  track<T>(operation: Promise<T>): Promise<T>;
}

export interface BatchHandlerDependencies {
  process: (messages: ConsumedBatch['messages']) => ProcessedBatch;
  events: EventsRepository;
  pendingHours: PendingHoursRepository;
  deadLetters: MessageProducer;
  deadLetterTopic: string;
  retryPolicy: RetryPolicy;
  metrics: IngestMetrics;
  logger: Logger;
  /** Called with true when a step's write first fails and is retried, and with false once that step is over. */
  onRetrying?: (retrying: boolean) => void;
  storeWatch?: StoreWatch;
  /** The time a store_rejected dead letter says it failed at: the service's clock (Cassandra's), the one every other dead letter takes. */
  now: () => Date;
}

/**
 * Handles one consumed batch: processes it, writes the valid rows to Cassandra while it publishes
 * the invalid messages to the dead-letter topic (acks = all); once the rows are durable, records
 * the affected hours for the aggregator (marker rounds shared by the batches in flight, see
 * `createCoalescedMarks`) while it publishes the rows Cassandra refused for their content
 * (`store_rejected`) to the dead-letter topic. Outages are
 * retried with backoff, with a heartbeat between attempts; rows already written are not written
 * again. It resolves only when all of that is durable, so the caller may then commit the batch's
 * offsets; it rejects when retries are exhausted (nothing committed). It returns early, without
 * finishing, when the batch is abandoned (rebalance, consumer stopping): the caller commits nothing.
 */
export function createBatchHandler(dependencies: BatchHandlerDependencies): (batch: ConsumedBatch) => Promise<void> {
  const { events, pendingHours, deadLetters, deadLetterTopic, retryPolicy, metrics, logger } = dependencies;
  const watch = <T>(operation: Promise<T>): Promise<T> => dependencies.storeWatch?.track(operation) ?? operation;
  const markHours = createCoalescedMarks((hoursMs) => pendingHours.mark(hoursMs));

  return async (batch) => {
    const started = process.hrtime.bigint();
    const first = batch.messages[0]?.offset;
    const log = logger.child({ topic: batch.topic, partition: batch.partition, offset: first });
    metrics.consumed.inc(batch.messages.length);
    const processed = dependencies.process(batch.messages);

    const withRetry = async (target: string, operation: () => Promise<void>): Promise<void> => {
      let retried = false;
      try {
        await retryWithBackoff(`${target} (batch at offset ${first})`, operation, retryPolicy, {
          onRetry: (err, attempt, delayMs) => {
            metrics.retries.inc({ target });
            if (!retried) dependencies.onRetrying?.(true);
            retried = true;
            log.warn({ err, attempt, delayMs, target }, 'write failed, retrying');
          },
          between: async () => {
            await batch.heartbeat();
            if (!batch.isRunning()) throw new BatchAbandoned('batch abandoned during retries');
          },
        });
      } finally {
        if (retried) dependencies.onRetrying?.(false);
      }
    };

    const sendDeadLetters = (dead: readonly DeadLetterMessage[]): Promise<void> =>
      withRetry(`dead-letter topic ${deadLetterTopic}`, async () => {
        if (dead.length === 0) return;
        try {
          await deadLetters.send(
            deadLetterTopic,
            dead.map((d) => ({ key: d.key, value: d.value, headers: { reason: d.reason } })),
          );
        } catch (err) {
          const refusal = DEAD_LETTER_REFUSALS[brokerErrorType(err) ?? ''];
          const message = err instanceof Error ? err.message : String(err);
          throw new DeadLetterPublishError(
            refusal === undefined ? message : `dead-letter topic ${deadLetterTopic}: ${refusal} (${message})`,
            { cause: err },
          );
        }
      });

    // The invalid messages' dead letters depend on nothing written: they go out while the rows are
    // written. Awaited on every path that resolves, so nothing of a finished or abandoned batch runs
    // on after it; a batch that fails for good rejects at once (the service exits).
    const invalidSent = sendDeadLetters(processed.deadLetters);
    const invalidSettled = invalidSent.then(
      () => undefined,
      () => undefined,
    );
    try {
      // 1. Rows. A retry writes only what is still unwritten; content rejections are final.
      const rejected: RejectedEvent[] = [];
      let pending: readonly EnrichedClick[] = processed.rows;
      await withRetry('cassandra', async () => {
        if (pending.length === 0) return;
        const outcome = await watch(events.writeEvents(pending));
        rejected.push(...outcome.rejected);
        pending = outcome.unwritten;
        if (outcome.failure) throw outcome.failure;
      });
      if (!batch.isRunning()) return await invalidSettled;
      const storeRejected = rejected.length > 0 ? storeRejections(processed, rejected, dependencies.now(), log) : [];
      for (const r of storeRejected)
        log.warn({ offset: r.offset, message: r.error }, 'Cassandra refused a row for its content; sent to the dead-letter topic');

      // 2. With the rows durable: the markers (the aggregator must find the rows once it sees a
      // marker) and the refused rows' dead letters, both alongside the invalid ones still in flight.
      await batch.heartbeat();
      const settled = await Promise.allSettled([
        invalidSent,
        sendDeadLetters(storeRejected.map((r) => r.deadLetter)),
        withRetry('cassandra', () => watch(markHours(processed.affectedHoursMs))),
      ]);
      for (const result of settled) if (result.status === 'rejected') throw result.reason;
      if (!batch.isRunning()) return;
      const dead = [...processed.deadLetters, ...storeRejected.map((r) => r.deadLetter)];

      metrics.stored.inc(processed.rows.length - rejected.length);
      for (const [hint, count] of Object.entries(processed.ignoredHints)) metrics.hintsIgnored.inc({ hint }, count);
      for (const d of dead) {
        metrics.invalid.inc({ reason: d.reason });
        log.debug({ offset: d.offset, reason: d.reason }, 'invalid event sent to the dead-letter topic');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.batchSeconds.observe(seconds);
      log.debug(
        { messages: batch.messages.length, stored: processed.rows.length - rejected.length, invalid: dead.length, seconds },
        'batch written',
      );
    } catch (err) {
      if (err instanceof BatchAbandoned || !batch.isRunning()) {
        await invalidSettled;
        log.info('batch abandoned (rebalance or stop); it stays uncommitted and is read again');
        return;
      }
      throw err;
    }
  };
}

/** The dead letters of rows Cassandra refused, each built from the message its row came from. */
function storeRejections(
  processed: ProcessedBatch,
  rejected: readonly RejectedEvent[],
  at: Date,
  logger: Logger,
): { offset: string; error: string; deadLetter: DeadLetterMessage }[] {
  const sourceOf = new Map(processed.rows.map((row, i) => [row, processed.sources[i]]));
  return rejected.flatMap((r) => {
    const source = sourceOf.get(r.event);
    if (!source) {
      // Not expected (rows and sources are parallel): say so loudly rather than drop the row in silence.
      logger.error(
        { eventId: r.event.eventId, message: r.message },
        'refused row has no source message; it is neither stored nor dead-lettered',
      );
      return [];
    }
    const deadLetter = toDeadLetter(source, 'store_rejected', `Cassandra refused the row: ${r.message}`, at);
    return [{ offset: source.offset, error: r.message, deadLetter }];
  });
}
