import type { KafkaConnection } from './kafka-client.ts';

/** The KAFKA_* variables as a service's configuration parses them (see `kafkaEnv` in @clickstream/config). */
export interface KafkaSettings {
  readonly KAFKA_BROKERS: readonly string[];
  readonly KAFKA_CLIENT_ID: string;
  readonly KAFKA_SSL: boolean;
  readonly KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  readonly KAFKA_SASL_USERNAME?: string | undefined;
  readonly KAFKA_SASL_PASSWORD?: string | undefined;
}

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
