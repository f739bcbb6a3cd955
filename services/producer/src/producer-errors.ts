import type { MessageCounts } from './producer-summary.ts';

/** No broker answered: nothing was sent. */
export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError';
  readonly code = 'kafka_unavailable';
  readonly retriable = true;
  readonly brokers: readonly string[];

  constructor(brokers: readonly string[], options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      `cannot reach Kafka at ${brokers.join(',')}${reason} (is the stack up? npm run stack:status; KAFKA_BROKERS sets the brokers)`,
      options,
    );
    this.brokers = brokers;
  }
}

/** A batch was not acknowledged after the client's retries; `counts` are the messages acknowledged before it. */
export class KafkaSendError extends Error {
  override readonly name = 'KafkaSendError';
  readonly code = 'kafka_send_failed';
  readonly retriable = true;
  readonly counts: Readonly<MessageCounts>;

  constructor(topic: string, counts: MessageCounts, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`sending to topic ${topic} failed after ${counts.sent} acknowledged messages${reason}`, options);
    this.counts = { ...counts };
  }
}
