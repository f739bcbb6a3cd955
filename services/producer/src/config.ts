import type { z } from 'zod';
import { kafkaEnv, loggingEnv, parseConfig, positiveInt, serviceConfigSchema } from '@clickstream/config';

/** Every environment variable the producer reads, with defaults and descriptions. */
export const producerEnvShape = {
  ...loggingEnv,
  ...kafkaEnv,
  KAFKA_TOPIC: kafkaEnv.KAFKA_TOPIC.describe('topic the clicks are written to (--topic overrides it)'),
  KAFKA_TOPIC_PARTITIONS: positiveInt(3).describe(
    'partitions of the topic when the producer has to create it (an existing topic is left alone)',
  ),
};

export const producerConfigSchema = serviceConfigSchema(producerEnvShape);
export type ProducerConfig = Readonly<z.output<typeof producerConfigSchema>>;

/** Parses and freezes the producer configuration; throws ConfigError naming the wrong variables. */
export function loadProducerConfig(env: Record<string, string | undefined>): ProducerConfig {
  return parseConfig(producerConfigSchema, env);
}
