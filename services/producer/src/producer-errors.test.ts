import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaRefusedError, KafkaUnavailableError, kafkaConnectFailure } from './producer-errors.ts';

/** An error shaped as kafkajs throws it (its class name and, for broker answers, the error type). */
function kafkajsError(name: string, message: string, type?: string): Error {
  return Object.assign(new Error(message), { name, ...(type === undefined ? {} : { type }) });
}

for (const { when, cause, refused, says } of [
  {
    when: 'the brokers refuse the SASL credentials',
    cause: kafkajsError(
      'KafkaJSSASLAuthenticationError',
      'SASL PLAIN authentication failed: Authentication failed: Invalid username or password',
    ),
    refused: true,
    says: /^Kafka at kafka:9092 refused the client: SASL PLAIN authentication failed.*\(check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD\)$/,
  },
  {
    when: 'the client may not describe the cluster',
    cause: kafkajsError('KafkaJSProtocolError', 'Cluster authorization failed', 'CLUSTER_AUTHORIZATION_FAILED'),
    refused: true,
    says: /^Kafka at kafka:9092 refused the client: Cluster authorization failed/,
  },
  {
    when: 'no broker answers',
    cause: kafkajsError('KafkaJSConnectionError', 'connect ECONNREFUSED 127.0.0.1:9092'),
    refused: false,
    says: /^cannot reach Kafka at kafka:9092: connect ECONNREFUSED.*KAFKA_SSL and KAFKA_SASL_\* how to reach them\)$/,
  },
  {
    // What a broker that requires SASL does to a client without it.
    when: 'the broker closes the connection',
    cause: kafkajsError('KafkaJSConnectionClosedError', 'Closed connection'),
    refused: false,
    says: /^cannot reach Kafka at kafka:9092: Closed connection.*KAFKA_SASL_\*/,
  },
]) {
  test(`when ${when}, then the producer says ${refused ? 'it was refused (not retriable)' : 'it cannot reach Kafka'}`, () => {
    const err = kafkaConnectFailure(['kafka:9092'], cause);
    assert.ok(refused ? err instanceof KafkaRefusedError : err instanceof KafkaUnavailableError);
    assert.equal(err.retriable, !refused);
    assert.equal(err.cause, cause);
    assert.match(err.message, says);
  });
}
