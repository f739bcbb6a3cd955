import type { KafkaSettings } from '@clickstream/config';
import type { KafkaConnection } from './kafka-client.ts';

/** The connection parsed KAFKA_* settings describe; SASL only when a mechanism and a user name are set. */
export function kafkaConnectionOf(settings: KafkaSettings): KafkaConnection {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = settings;
  return {
    brokers: settings.KAFKA_BROKERS,
    clientId: settings.KAFKA_CLIENT_ID,
    ssl: settings.KAFKA_SSL,
    ...(mechanism !== undefined && username !== undefined ? { sasl: { mechanism, username, password: password ?? '' } } : {}),
  };
}
