import { DEAD_LETTER_MAX_MESSAGE_BYTES } from '@clickstream/events';
import { differingTopicSettings, durableTopicSpec, ensureTopics } from '@clickstream/kafka';
import type { KafkaClient, TopicSettingDifference, TopicSpec } from '@clickstream/kafka';
import type { Logger } from '@clickstream/observability';
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

/**
 * Creates the topics ingest reads and writes that are missing (at start, or by `npm run migrate`),
 * and warns about each setting of an existing one that differs from what ingest creates it with: a
 * topic an earlier version made keeps its settings (the dead-letter topic without broker
 * timestamps, for one). The check needs DESCRIBE_CONFIGS on the topics; refused, it is skipped.
 *
 * @returns the topics created.
 */
export async function ensureIngestTopics(kafka: KafkaClient, config: IngestConfig, logger: Logger): Promise<string[]> {
  const specs = topicSpecs(config);
  const created = await ensureTopics(kafka, specs);
  if (created.length > 0) logger.info({ topics: created }, 'created missing topics');
  let differences: TopicSettingDifference[];
  try {
    differences = await differingTopicSettings(kafka, specs);
  } catch (err) {
    logger.debug({ err }, 'topic settings not checked (DESCRIBE_CONFIGS refused?)');
    return created;
  }
  for (const { topic, name, actual, wanted } of differences) {
    logger.warn(
      { topic, setting: name, actual: actual ?? null, wanted },
      `topic ${topic} has ${name}=${actual ?? '(unset)'} where ingest creates it with ${wanted}; to align it: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config ${name}=${wanted}`,
    );
  }
  return created;
}
