import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '@clickstream/config';
import { loadProducerConfig } from './config.ts';

describe('loadProducerConfig', () => {
  test('when nothing is set, then the documented defaults apply and the result is frozen', () => {
    const config = loadProducerConfig({});
    assert.deepEqual(
      { ...config, KAFKA_BROKERS: [...config.KAFKA_BROKERS] },
      {
        LOG_LEVEL: 'info',
        KAFKA_BROKERS: ['localhost:9092'],
        KAFKA_TOPIC: 'clickstream',
        KAFKA_CLIENT_ID: 'clickstream',
        KAFKA_SSL: false,
        KAFKA_TOPIC_PARTITIONS: 3,
      },
    );
    assert.ok(Object.isFrozen(config));
  });

  const wrong: { when: string; env: Record<string, string>; variables: string[] }[] = [
    { when: 'the partitions are not a number', env: { KAFKA_TOPIC_PARTITIONS: 'three' }, variables: ['KAFKA_TOPIC_PARTITIONS'] },
    { when: 'the partitions are 0', env: { KAFKA_TOPIC_PARTITIONS: '0' }, variables: ['KAFKA_TOPIC_PARTITIONS'] },
    { when: 'the log level is unknown', env: { LOG_LEVEL: 'loud' }, variables: ['LOG_LEVEL'] },
    {
      when: 'SASL lacks credentials',
      env: { KAFKA_SASL_MECHANISM: 'scram-sha-512' },
      variables: ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'],
    },
    {
      when: 'SASL lacks the password',
      env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      variables: ['KAFKA_SASL_PASSWORD'],
    },
  ];
  for (const { when, env, variables } of wrong) {
    test(`when ${when}, then a ConfigError names ${variables.join(', ')}`, () => {
      assert.throws(
        () => loadProducerConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.deepEqual(err.variables, variables);
          return true;
        },
      );
    });
  }
});
