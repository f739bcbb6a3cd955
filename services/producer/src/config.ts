import type { z } from 'zod';
import { kafkaEnv, kafkaTopicCreationEnv, loggingEnv, parseConfig, serviceConfigSchema } from '@clickstream/config';

/** Every environment variable the producer reads, with defaults and descriptions. */
export const producerEnvShape = {
  ...loggingEnv,
  ...kafkaEnv,
  KAFKA_TOPIC: kafkaEnv.KAFKA_TOPIC.describe('topic the clicks are written to (--topic overrides it)'),
  ...kafkaTopicCreationEnv,
};

export const producerConfigSchema = serviceConfigSchema(producerEnvShape);
export type ProducerConfig = Readonly<z.output<typeof producerConfigSchema>>;

/** Parses and freezes the producer configuration; throws ConfigError naming the wrong variables. */
export function loadProducerConfig(env: Record<string, string | undefined>): ProducerConfig {
  return parseConfig(producerConfigSchema, env);
}
