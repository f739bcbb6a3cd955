import type { TopicSpec } from '@clickstream/kafka';
import type { IngestConfig } from './config.ts';

/**
 * Largest message the dead-letter topic takes: Kafka's own default (1 MiB + record overhead), set
 * explicitly so a broker configured smaller cannot refuse a dead-letter record, which is bounded
 * well below it (see the dead-letter record's size limit in @clickstream/events).
 */
export const DEAD_LETTER_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * The topics ingest creates when they are missing, with explicit settings: partitions,
 * replication factor and `min.insync.replicas` from the configuration (unset = the brokers'
 * defaults), and on the dead-letter topic a `max.message.bytes` that fits every dead-letter record.
 */
export function topicSpecs(config: IngestConfig): TopicSpec[] {
  const durability: Record<string, string> =
    config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS === undefined ? {} : { 'min.insync.replicas': String(config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS) };
  const common = { partitions: config.KAFKA_TOPIC_PARTITIONS, replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR };
  return [
    { topic: config.KAFKA_TOPIC, ...common, configs: { ...durability, 'cleanup.policy': 'delete' } },
    {
      topic: config.KAFKA_DLQ_TOPIC,
      ...common,
      configs: { ...durability, 'cleanup.policy': 'delete', 'max.message.bytes': String(DEAD_LETTER_MAX_MESSAGE_BYTES) },
    },
  ];
}
