import type { Consumer } from 'kafkajs';
import type { KafkaClient } from './kafka-client.ts';

/** One message as the consumer hands it over: raw bytes and where it came from. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** Messages left in the partition after this batch (high watermark - last offset - 1). */
  lagAfter: number;
  /** Keeps the group membership alive during long work; call between slow steps. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked: abandon, do not commit. */
  isRunning(): boolean;
}

export interface BatchConsumer {
  /** Stops fetching, waits for the in-flight batch handler, leaves the group. */
  stop(): Promise<void>;
}

/**
 * Runs a consumer group member that hands whole batches to `handleBatch`. The batch's offsets
 * are committed only after `handleBatch` resolves (at-least-once): if it rejects, nothing of the
 * batch is committed, and `onFatal` is called so the service can exit and be restarted.
 */
export async function startBatchConsumer(
  client: KafkaClient,
  options: {
    groupId: string;
    topic: string;
    fromBeginning?: boolean;
    sessionTimeoutMs?: number;
    maxBytesPerPartition?: number;
    handleBatch: (batch: ConsumedBatch) => Promise<void>;
    onFatal: (err: unknown) => void;
  },
): Promise<BatchConsumer> {
  const consumer: Consumer = client.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    allowAutoTopicCreation: false,
    // A failed batch must not be retried by kafkajs behind our back: the service decides.
    retry: { retries: 5, restartOnFailure: () => Promise.resolve(false) },
  });
  let fatal = false;
  consumer.on(consumer.events.CRASH, (event) => {
    if (!fatal) {
      fatal = true;
      options.onFatal(event.payload.error);
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const isRunning = (): boolean => payload.isRunning();
      const isStale = (): boolean => payload.isStale();
      if (batch.isEmpty()) return;
      const last = batch.lastOffset();
      try {
        await options.handleBatch({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            timestampMs: Number(m.timestamp),
          })),
          lagAfter: Math.max(0, Number(batch.highWatermark) - Number(last) - 1),
          heartbeat: () => payload.heartbeat(),
          isRunning: () => isRunning() && !isStale(),
        });
      } catch (err) {
        // The handler already retried what was retriable: the batch stays uncommitted and the service exits.
        fatal = true;
        options.onFatal(err);
        throw err;
      }
      if (!isRunning() || isStale()) return;
      // Resolve as well as commit: kafkajs fetches from the resolved offset, so a batch that is
      // committed but not resolved would be fetched and handled a second time.
      payload.resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    },
  });
  return { stop: () => consumer.disconnect() };
}
