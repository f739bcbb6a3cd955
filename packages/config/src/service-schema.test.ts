import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cassandraEnv, elasticsearchEnv, kafkaEnv } from './connection-env.ts';
import { durationMs, positiveInt } from './env-schema.ts';
import { ConfigError, parseConfig } from './parse-config.ts';
import { serviceConfigSchema } from './service-schema.ts';

const schema = serviceConfigSchema({
  ...kafkaEnv,
  ...cassandraEnv,
  ...elasticsearchEnv,
  X_RETRY_INITIAL_DELAY_MS: positiveInt(200),
  X_RETRY_MAX_DELAY_MS: positiveInt(10_000),
  X_TIMEOUT_MS: durationMs(1_000),
});

/** The variables a ConfigError names, or [] when the environment parses. */
function wrongVariables(env: Record<string, string>): string[] {
  try {
    parseConfig(schema, env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.variables].sort();
  }
}

const cases: { when: string; env: Record<string, string>; wrong: string[] }[] = [
  { when: 'nothing is set', env: {}, wrong: [] },
  {
    when: 'SASL is complete',
    env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
    wrong: [],
  },
  {
    when: 'a SASL mechanism has no user name (ingest used to drop SASL silently)',
    env: { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'p' },
    wrong: ['KAFKA_SASL_USERNAME'],
  },
  { when: 'a SASL mechanism has neither', env: { KAFKA_SASL_MECHANISM: 'plain' }, wrong: ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME'] },
  { when: 'a SASL user has no mechanism', env: { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, wrong: ['KAFKA_SASL_MECHANISM'] },
  {
    when: 'an empty SASL user counts as unset',
    env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: '', KAFKA_SASL_PASSWORD: 'p' },
    wrong: ['KAFKA_SASL_USERNAME'],
  },
  { when: 'a Cassandra user has no password', env: { CASSANDRA_USERNAME: 'u' }, wrong: ['CASSANDRA_PASSWORD'] },
  { when: 'a Cassandra password has no user', env: { CASSANDRA_PASSWORD: 'p' }, wrong: ['CASSANDRA_USERNAME'] },
  { when: 'an Elasticsearch user has no password', env: { ELASTICSEARCH_USERNAME: 'u' }, wrong: ['ELASTICSEARCH_PASSWORD'] },
  { when: 'the initial retry delay equals the maximum', env: { X_RETRY_INITIAL_DELAY_MS: '500', X_RETRY_MAX_DELAY_MS: '500' }, wrong: [] },
  {
    when: 'the initial retry delay exceeds the maximum',
    env: { X_RETRY_INITIAL_DELAY_MS: '501', X_RETRY_MAX_DELAY_MS: '500' },
    wrong: ['X_RETRY_INITIAL_DELAY_MS'],
  },
  {
    when: 'the initial retry delay exceeds the default maximum',
    env: { X_RETRY_INITIAL_DELAY_MS: '10001' },
    wrong: ['X_RETRY_INITIAL_DELAY_MS'],
  },
  { when: 'a duration is the longest a Node timer takes', env: { X_TIMEOUT_MS: '2147483647' }, wrong: [] },
  {
    when: 'a duration is past what a Node timer takes (it would fire after 1 ms)',
    env: { X_TIMEOUT_MS: '2147483648' },
    wrong: ['X_TIMEOUT_MS'],
  },
  { when: 'a duration is huge', env: { X_TIMEOUT_MS: '99999999999' }, wrong: ['X_TIMEOUT_MS'] },
  { when: 'a duration is 0', env: { X_TIMEOUT_MS: '0' }, wrong: ['X_TIMEOUT_MS'] },
];

for (const { when, env, wrong } of cases) {
  test(`when ${when}, then the wrong variables are [${wrong.join(', ')}]`, () => {
    assert.deepEqual(wrongVariables(env), wrong);
  });
}

test('when a schema lacks some variables of a group, then only the ones it reads are checked', () => {
  const producerLike = serviceConfigSchema({ CASSANDRA_USERNAME: cassandraEnv.CASSANDRA_USERNAME });
  assert.doesNotThrow(() => parseConfig(producerLike, { CASSANDRA_USERNAME: 'u' }));
});

test('when the error is reported, then its message names the variable and why, never the value', () => {
  try {
    parseConfig(schema, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'hunter2' });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM and KAFKA_SASL_PASSWORD are set/);
    assert.doesNotMatch(err.message, /hunter2/);
  }
});
