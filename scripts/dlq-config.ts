/**
 * The configuration of `npm run dlq`: the brokers and their TLS and SASL settings, read and
 * checked like the services' (a reader without the credentials the brokers require only sees
 * its connection closed), and the dead-letter topic.
 */
import { kafkaEnv, kafkaTopicName, parseConfig, serviceConfigSchema } from '@clickstream/config';
import { kafkaConnectionOf } from '@clickstream/kafka';
import type { KafkaConnection } from '@clickstream/kafka';

const { KAFKA_BROKERS, KAFKA_SSL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD } = kafkaEnv;

const dlqConfigSchema = serviceConfigSchema({
  KAFKA_BROKERS,
  KAFKA_DLQ_TOPIC: kafkaTopicName().default('clickstream-dlq'),
  KAFKA_SSL,
  KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD,
});

/** What the reader connects to and reads. Throws ConfigError naming the wrong variables. */
export function loadDlqConfig(env: Record<string, string | undefined>): { topic: string; connection: KafkaConnection } {
  const config = parseConfig(dlqConfigSchema, env);
  return {
    topic: config.KAFKA_DLQ_TOPIC,
    connection: { ...kafkaConnectionOf({ ...config, KAFKA_CLIENT_ID: 'clickstream-dlq-reader' }), retries: 2 },
  };
}
