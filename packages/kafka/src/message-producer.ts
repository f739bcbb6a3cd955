import { CompressionTypes, Partitioners } from 'kafkajs';
import type { Producer } from 'kafkajs';
import type { KafkaClient } from './kafka-client.ts';

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface MessageProducer {
  /**
   * Sends messages and resolves once every in-sync replica has them (acks = all).
   * Rejects on failure; nothing is retried silently beyond the client's own retries.
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** A connected producer writing with acks from all in-sync replicas (murmur2 key partitioning, as the Java client). */
export async function createMessageProducer(client: KafkaClient, options: { compression?: boolean } = {}): Promise<MessageProducer> {
  // Not idempotent: kafkajs' idempotent mode wants unlimited retries, and a duplicate on retry is
  // harmless here because consumers deduplicate by event id.
  const producer: Producer = client.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    async send(topic, messages) {
      if (messages.length === 0) return;
      await producer.send({
        topic,
        acks: -1,
        compression: options.compression ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: messages.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
      });
    },
    disconnect: () => producer.disconnect(),
  };
}
