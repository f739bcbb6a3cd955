import { DEAD_LETTER_MAX_MESSAGE_BYTES } from '@clickstream/events';
import { durableTopicSpec } from '@clickstream/kafka';
import type { TopicSpec } from '@clickstream/kafka';
import type { IngestConfig } from './config.ts';

/**
 * `max.message.bytes` of the dead-letter topic: the bound of one dead-letter message plus room for
 * the record batch around it, set explicitly so a broker configured smaller cannot refuse one.
 */
export const DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES = DEAD_LETTER_MAX_MESSAGE_BYTES + 64 * 1024;

/**
 * The topics ingest creates when they are missing, with explicit settings: partitions,
 * replication factor and `min.insync.replicas` from the configuration (unset = the brokers'
 * defaults), and on the dead-letter topic a `max.message.bytes` that fits every dead-letter record
 * and `message.timestamp.type=LogAppendTime`: the broker stamps dead letters with its own clock.
 * A record stamped by its sender (CreateTime) more than `log.message.timestamp.after.max.ms`
 * (Kafka 4: one hour) ahead of the broker is refused, so an ingest on a node whose clock ran an
 * hour ahead could write no dead letter and stopped at the first invalid message, on every
 * restart. (The record's own `failed_at` still says when ingest refused the message.)
 */
export function topicSpecs(config: IngestConfig): TopicSpec[] {
  return [
    durableTopicSpec(config.KAFKA_TOPIC, config),
    durableTopicSpec(config.KAFKA_DLQ_TOPIC, config, {
      'max.message.bytes': String(DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES),
      'message.timestamp.type': 'LogAppendTime',
    }),
  ];
}
