import { isPermanentKafkaError } from '@clickstream/kafka';
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
      `cannot reach Kafka at ${brokers.join(',')}${reason} (is the stack up? npm run stack:status; KAFKA_BROKERS sets the brokers, KAFKA_SSL and KAFKA_SASL_* how to reach them)`,
      options,
    );
    this.brokers = brokers;
  }
}

/** The brokers answered but refused the client (SASL authentication, authorization): nothing was sent, and retrying cannot help. */
export class KafkaRefusedError extends Error {
  override readonly name = 'KafkaRefusedError';
  readonly code = 'kafka_refused';
  readonly retriable = false;
  readonly brokers: readonly string[];

  constructor(brokers: readonly string[], options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      `Kafka at ${brokers.join(',')} refused the client${reason} (check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)`,
      options,
    );
    this.brokers = brokers;
  }
}

/** Why the first connection to the brokers failed: refused for good (credentials, permissions) or not reached. */
export function kafkaConnectFailure(brokers: readonly string[], cause: unknown): KafkaRefusedError | KafkaUnavailableError {
  return isPermanentKafkaError(cause) ? new KafkaRefusedError(brokers, { cause }) : new KafkaUnavailableError(brokers, { cause });
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
