import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { cassandraEnv, elasticsearchEnv, httpEnv, kafkaEnv } from './connection-env.ts';
import { durationMs, positiveInt } from './env-schema.ts';
import { ConfigError, parseConfig } from './parse-config.ts';
import { serviceConfigSchema } from './service-schema.ts';

const schema = serviceConfigSchema({
  ...httpEnv(8081),
  ...kafkaEnv,
  KAFKA_DLQ_TOPIC: z.string().optional(),
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
  {
    when: 'a SASL mechanism is written as its name (upper case)',
    env: { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
    wrong: [],
  },
  {
    when: 'a SASL mechanism is unknown',
    env: { KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
    wrong: ['KAFKA_SASL_MECHANISM'],
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
  // Numbers are decimal digits: zod's coercion took ' ' as 0 (a random port), and hex, exponents and signs.
  { when: 'numbers have blanks around them', env: { HTTP_PORT: ' 8081 ', X_TIMEOUT_MS: '1000 ' }, wrong: [] },
  { when: 'a port is blank', env: { HTTP_PORT: ' ' }, wrong: ['HTTP_PORT'] },
  { when: 'a port is in hex', env: { HTTP_PORT: '0x1F91' }, wrong: ['HTTP_PORT'] },
  { when: 'a port carries a sign', env: { HTTP_PORT: '+8081' }, wrong: ['HTTP_PORT'] },
  { when: 'a port is past 65535', env: { HTTP_PORT: '65536' }, wrong: ['HTTP_PORT'] },
  { when: 'a duration is an exponent', env: { X_TIMEOUT_MS: '1e3' }, wrong: ['X_TIMEOUT_MS'] },
  { when: 'a count is a fraction', env: { X_RETRY_MAX_DELAY_MS: '1.5' }, wrong: ['X_RETRY_MAX_DELAY_MS'] },
  // Names and addresses.
  { when: 'the topic is blank', env: { KAFKA_TOPIC: ' ' }, wrong: ['KAFKA_TOPIC'] },
  { when: 'the topic has a character Kafka refuses', env: { KAFKA_TOPIC: 'click stream' }, wrong: ['KAFKA_TOPIC'] },
  { when: 'the topic uses dots, dashes and underscores', env: { KAFKA_TOPIC: 'clicks.v2_eu-1' }, wrong: [] },
  {
    when: 'the dead-letter topic is the topic (each dead letter would be read again, for ever)',
    env: { KAFKA_TOPIC: 'c', KAFKA_DLQ_TOPIC: 'c' },
    wrong: ['KAFKA_DLQ_TOPIC'],
  },
  { when: 'the client id is blank', env: { KAFKA_CLIENT_ID: '  ' }, wrong: ['KAFKA_CLIENT_ID'] },
  { when: 'the local data centre is blank', env: { CASSANDRA_LOCAL_DC: ' ' }, wrong: ['CASSANDRA_LOCAL_DC'] },
  { when: 'brokers are host:port', env: { KAFKA_BROKERS: 'kafka-0.kafka:9092, 10.0.0.2:9093,[::1]:9094' }, wrong: [] },
  { when: 'a broker has no port', env: { KAFKA_BROKERS: 'a:9092,kafka' }, wrong: ['KAFKA_BROKERS'] },
  { when: "a broker's port is past 65535", env: { KAFKA_BROKERS: 'kafka:99999' }, wrong: ['KAFKA_BROKERS'] },
  { when: 'a broker is a URL', env: { KAFKA_BROKERS: 'http://localhost:9092' }, wrong: ['KAFKA_BROKERS'] },
  {
    when: 'contact points are hosts, with or without a port',
    env: { CASSANDRA_CONTACT_POINTS: 'cassandra-0,10.0.0.3:9043,::1' },
    wrong: [],
  },
  { when: "a contact point's port is 0", env: { CASSANDRA_CONTACT_POINTS: 'cassandra:0' }, wrong: ['CASSANDRA_CONTACT_POINTS'] },
  { when: 'a contact point is a URL', env: { CASSANDRA_CONTACT_POINTS: 'http://cassandra:9042' }, wrong: ['CASSANDRA_CONTACT_POINTS'] },
  { when: 'replication is 3, or 3 per data centre', env: { CASSANDRA_REPLICATION: 'dc1:3,dc2:3' }, wrong: [] },
  { when: 'replication is 0', env: { CASSANDRA_REPLICATION: '0' }, wrong: ['CASSANDRA_REPLICATION'] },
  { when: 'a data centre has replication 0', env: { CASSANDRA_REPLICATION: 'dc1:3,dc2:0' }, wrong: ['CASSANDRA_REPLICATION'] },
  {
    when: 'a data centre is named twice (one factor would silently win)',
    env: { CASSANDRA_REPLICATION: 'dc1:3,dc1:1' },
    wrong: ['CASSANDRA_REPLICATION'],
  },
  { when: 'replication is empty (the default, 1)', env: { CASSANDRA_REPLICATION: '' }, wrong: [] },
  { when: 'replication ends in a newline', env: { CASSANDRA_REPLICATION: '3\n' }, wrong: ['CASSANDRA_REPLICATION'] },
  { when: 'a data centre name holds a control character', env: { CASSANDRA_REPLICATION: 'dc\u00011:3' }, wrong: ['CASSANDRA_REPLICATION'] },
  { when: 'replication has an empty data centre entry', env: { CASSANDRA_REPLICATION: 'dc1:3,,dc2:3' }, wrong: ['CASSANDRA_REPLICATION'] },
  {
    when: 'a replication factor has more digits than any cluster has nodes',
    env: { CASSANDRA_REPLICATION: '99999999999999999999' },
    wrong: ['CASSANDRA_REPLICATION'],
  },
  // Flags.
  { when: 'flags are written in any case', env: { CASSANDRA_SSL: 'YES', KAFKA_SSL: 'No' }, wrong: [] },
  { when: 'a flag has blanks around it', env: { KAFKA_SSL: ' true ' }, wrong: [] },
  { when: 'a flag is neither true nor false', env: { CASSANDRA_SSL: 'maybe' }, wrong: ['CASSANDRA_SSL'] },
  { when: 'a flag is a longer word', env: { KAFKA_SSL: 'yess' }, wrong: ['KAFKA_SSL'] },
  {
    when: 'the Elasticsearch URL has no scheme (read as the scheme "localhost:")',
    env: { ELASTICSEARCH_URL: 'localhost:9200' },
    wrong: ['ELASTICSEARCH_URL'],
  },
  { when: 'the Elasticsearch URL is not http(s)', env: { ELASTICSEARCH_URL: 'ftp://es:9200' }, wrong: ['ELASTICSEARCH_URL'] },
  { when: 'the Elasticsearch URL is https with a path', env: { ELASTICSEARCH_URL: 'https://es.internal:9243/prefix' }, wrong: [] },
  {
    when: 'the Elasticsearch URL carries a user and password (printed wherever the URL is)',
    env: { ELASTICSEARCH_URL: 'http://clicks:hunter2@es:9200' },
    wrong: ['ELASTICSEARCH_URL'],
  },
  {
    when: 'the Elasticsearch URL carries a user name alone',
    env: { ELASTICSEARCH_URL: 'https://clicks@es:9243' },
    wrong: ['ELASTICSEARCH_URL'],
  },
];

for (const { when, env, wrong } of cases) {
  test(`when ${when}, then the wrong variables are [${wrong.join(', ')}]`, () => {
    assert.deepEqual(wrongVariables(env), wrong);
  });
}

test('when the Elasticsearch URL carries credentials, then the message says where they go, never the password', () => {
  assert.throws(
    () => parseConfig(schema, { ELASTICSEARCH_URL: 'http://clicks:hunter2@es:9200' }),
    (err) => err instanceof ConfigError && /ELASTICSEARCH_USERNAME/.test(err.message) && !err.message.includes('hunter2'),
  );
});

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

test('when flags are written in any case, then each reads as the value it names', () => {
  const flags = (env: Record<string, string>) => {
    const config = parseConfig(schema, env);
    return [config.KAFKA_SSL, config.CASSANDRA_SSL];
  };
  assert.deepEqual(flags({ KAFKA_SSL: 'YES', CASSANDRA_SSL: 'False' }), [true, false]);
  assert.deepEqual(flags({ KAFKA_SSL: ' 0 ', CASSANDRA_SSL: '1' }), [false, true]);
  assert.deepEqual(flags({}), [false, false], 'the defaults');
});
