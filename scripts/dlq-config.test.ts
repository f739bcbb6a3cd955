import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@clickstream/config';
import { loadDlqConfig } from './dlq-config.ts';

test('when the brokers require SASL, then the reader connects with the same KAFKA_SASL_* and KAFKA_SSL as the services', () => {
  const { topic, connection } = loadDlqConfig({
    KAFKA_BROKERS: 'kafka-1:9093,kafka-2:9093',
    KAFKA_DLQ_TOPIC: 'dead-letters',
    KAFKA_SSL: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'reader',
    KAFKA_SASL_PASSWORD: 'secret',
  });
  assert.equal(topic, 'dead-letters');
  assert.deepEqual(connection.brokers, ['kafka-1:9093', 'kafka-2:9093']);
  assert.equal(connection.ssl, true);
  assert.deepEqual(connection.sasl, { mechanism: 'scram-sha-512', username: 'reader', password: 'secret' });
});

test('when nothing is set, then the defaults: localhost, clickstream-dlq, no TLS, no SASL', () => {
  const { topic, connection } = loadDlqConfig({});
  assert.equal(topic, 'clickstream-dlq');
  assert.deepEqual(connection.brokers, ['localhost:9092']);
  assert.equal(connection.ssl, false);
  assert.equal(connection.sasl, undefined);
});

for (const [env, variable] of [
  [{ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_MECHANISM'],
  [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_MECHANISM'],
  [{ KAFKA_BROKERS: 'kafka:9092/' }, 'KAFKA_BROKERS'],
  [{ KAFKA_DLQ_TOPIC: 'a b' }, 'KAFKA_DLQ_TOPIC'],
] as const) {
  test(`when ${Object.keys(env).join(', ')} is wrong, then a ConfigError names ${variable}`, () => {
    assert.throws(
      () => loadDlqConfig(env),
      (err) => err instanceof ConfigError && err.variables.includes(variable),
    );
  });
}
