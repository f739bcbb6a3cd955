import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaConnectionOf } from './connection-settings.ts';

// As a parsed configuration gives them: every variable present, unset ones undefined.
const plain = {
  KAFKA_BROKERS: ['a:1', 'b:2'],
  KAFKA_CLIENT_ID: 'clickstream',
  KAFKA_SSL: true,
  KAFKA_SASL_MECHANISM: undefined,
  KAFKA_SASL_USERNAME: undefined,
  KAFKA_SASL_PASSWORD: undefined,
};

test('when SASL is configured, then the connection carries it', () => {
  const connection = kafkaConnectionOf({ ...plain, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });
  assert.deepEqual(connection, {
    brokers: ['a:1', 'b:2'],
    clientId: 'clickstream',
    ssl: true,
    sasl: { mechanism: 'plain', username: 'u', password: 'p' },
  });
});

test('when SASL is not configured, or has no user name, then the connection has no sasl entry', () => {
  assert.equal('sasl' in kafkaConnectionOf(plain), false);
  assert.equal('sasl' in kafkaConnectionOf({ ...plain, KAFKA_SASL_MECHANISM: 'plain' }), false);
});
