import { z } from 'zod';
import { kafkaEnv, loggingEnv, parseConfig, positiveInt } from '@clickstream/config';

/** Every environment variable the producer reads, with defaults and descriptions. */
export const producerEnvShape = {
  ...loggingEnv,
  ...kafkaEnv,
  KAFKA_TOPIC: kafkaEnv.KAFKA_TOPIC.describe('topic the clicks are written to (--topic overrides it)'),
  KAFKA_TOPIC_PARTITIONS: positiveInt(3).describe(
    'partitions of the topic when the producer has to create it (an existing topic is left alone)',
  ),
};

export const producerConfigSchema = z.object(producerEnvShape).superRefine((config, ctx) => {
  if (config.KAFKA_SASL_MECHANISM === undefined) return;
  for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (config[variable] === undefined)
      ctx.addIssue({ code: 'custom', path: [variable], message: 'required when KAFKA_SASL_MECHANISM is set' });
  }
});
export type ProducerConfig = Readonly<z.output<typeof producerConfigSchema>>;

/** Parses and freezes the producer configuration; throws ConfigError naming the wrong variables. */
export function loadProducerConfig(env: Record<string, string | undefined>): ProducerConfig {
  return parseConfig(producerConfigSchema, env);
}
