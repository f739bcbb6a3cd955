import { z } from 'zod';
import { LOG_LEVELS } from '@clickstream/observability';
import { booleanFlag, commaList, nonBlankString, optionalString, port, positiveInt, wholeNumber } from './env-schema.ts';

/** A Cassandra keyspace name this project accepts (Cassandra allows 48 characters; lower case keeps CQL unquoted). */
export const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

/** A Kafka topic name: what the brokers accept (1-249 of letters, digits, `.`, `_`, `-`; not `.` or `..`). */
export const kafkaTopicName = () =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, '1-249 letters, digits, ".", "_" or "-" (what Kafka accepts)')
    .refine((name) => name !== '.' && name !== '..', 'not "." or ".."');

/** `host:port`, `[ipv6]:port`, or (when the port may be left out) a bare host or IPv6 address; the port 1..65535. */
function isHostAndPort(entry: string, portRequired: boolean): boolean {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]@]+))(?::(\d{1,5}))?$/.exec(entry);
  if (match === null) return !portRequired && /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(entry) && entry.includes('::');
  const portText = match[3];
  if (portText === undefined) return !portRequired;
  const value = Number(portText);
  return value >= 1 && value <= 65_535;
}

/** Comma-separated server addresses, each `host:port`, or also a bare host unless `portRequired`. */
const addressList = (defaultValue: string, { portRequired }: { portRequired: boolean }) =>
  commaList(defaultValue).refine(
    (entries) => entries.every((entry) => isHostAndPort(entry, portRequired)),
    `each is ${portRequired ? '' : 'a host or '}host:port (port 1-65535), without a scheme`,
  );

/** Replication of a keyspace: SimpleStrategy with a factor, or NetworkTopologyStrategy per data centre. */
export type Replication =
  { class: 'SimpleStrategy'; replicationFactor: number } | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

/**
 * Environment variables shared by the services, each with its default and description. A
 * service's schema spreads the groups it needs; the keys are the variable names users set.
 */
export const loggingEnv = {
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info').describe('pino log level: fatal, error, warn, info, debug, trace or silent'),
};

export const httpEnv = (defaultPort: number) => ({
  HTTP_PORT: port(defaultPort).describe('port of /healthz, /readyz and /metrics'),
});

export const schemaEnv = {
  MIGRATE_ON_START: booleanFlag(true).describe(
    'create or update the schema, topics and index at start; false when `npm run migrate` (a Job) does it, so the service needs no DDL rights',
  ),
};

export const kafkaEnv = {
  KAFKA_BROKERS: addressList('localhost:9092', { portRequired: true }).describe('Kafka bootstrap brokers, comma-separated host:port'),
  KAFKA_TOPIC: kafkaTopicName().default('clickstream').describe('topic the click events are read from'),
  KAFKA_CLIENT_ID: nonBlankString().default('clickstream').describe('client id sent to the brokers'),
  KAFKA_SSL: booleanFlag(false).describe('connect to the brokers with TLS'),
  KAFKA_SASL_MECHANISM: z
    .preprocess(
      (value) => (typeof value === 'string' ? value.toLowerCase() : value),
      z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    )
    .describe('SASL mechanism: plain, scram-sha-256 or scram-sha-512 (any case); unset = no SASL'),
  KAFKA_SASL_USERNAME: optionalString().describe('SASL user name'),
  KAFKA_SASL_PASSWORD: optionalString().describe('SASL password (secret, never logged)'),
};

/**
 * How a service creates the Kafka topics it needs when they are missing (existing topics are left
 * alone): ingest its two, the producer the click topic. One definition, so that whichever creates
 * the click topic first creates it the same way.
 */
export const kafkaTopicCreationEnv = {
  KAFKA_TOPIC_PARTITIONS: positiveInt(3).describe(
    'partitions of the topics this service creates when they are missing (existing topics are left alone)',
  ),
  KAFKA_TOPIC_REPLICATION_FACTOR: wholeNumber(1)
    .optional()
    .describe(
      "replication factor of the topics this service creates; unset = the brokers' default.replication.factor (use 3 on a cluster)",
    ),
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: wholeNumber(1)
    .optional()
    .describe(
      "min.insync.replicas of the topics this service creates (acks=all writes need this many replicas); unset = the brokers' default (use 2 with 3 replicas)",
    ),
};

/** CASSANDRA_REPLICATION, checked by its schema, in the form `ensureSchema` takes. */
function parseReplication(value: string): Replication {
  if (/^\d+$/.test(value)) return { class: 'SimpleStrategy', replicationFactor: Number(value) };
  return {
    class: 'NetworkTopologyStrategy',
    dataCenters: Object.fromEntries(value.split(',').map((pair) => [pair.split(':')[0] ?? '', Number(pair.split(':')[1])])),
  };
}

export const cassandraEnv = {
  CASSANDRA_CONTACT_POINTS: addressList('localhost:9042', { portRequired: false }).describe(
    'Cassandra contact points, comma-separated host:port',
  ),
  CASSANDRA_LOCAL_DC: nonBlankString().default('datacenter1').describe('local data centre for the load-balancing policy'),
  CASSANDRA_KEYSPACE: z
    .string()
    .regex(KEYSPACE_NAME, 'lower-case letters, digits and _, starting with a letter')
    .default('clickstream')
    .describe('keyspace holding the events and the aggregator state'),
  CASSANDRA_REPLICATION: z
    .string()
    .regex(
      /^(\d{1,3}|[A-Za-z0-9_-]+:\d{1,3}(,[A-Za-z0-9_-]+:\d{1,3})*)$/,
      "a replication factor ('3') or data centres with factors ('dc1:3,dc2:3')",
    )
    .refine((value) => (value.match(/\d+(?=,|$)/g) ?? []).every((factor) => Number(factor) >= 1), 'every replication factor is at least 1')
    .refine((value) => {
      const dataCenters = value.split(',').map((pair) => pair.split(':')[0]);
      return new Set(dataCenters).size === dataCenters.length;
    }, 'each data centre once')
    .default('1')
    .transform(parseReplication)
    .describe("replication when the keyspace is created: a factor (SimpleStrategy) or 'dc1:3,dc2:3' (NetworkTopologyStrategy)"),
  CASSANDRA_USERNAME: optionalString().describe('Cassandra user name'),
  CASSANDRA_PASSWORD: optionalString().describe('Cassandra password (secret, never logged)'),
  CASSANDRA_SSL: booleanFlag(false).describe('connect to Cassandra with TLS'),
};

export const elasticsearchEnv = {
  ELASTICSEARCH_URL: z
    .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
    // Credentials in the URL would work (the client reads them) and then be printed wherever the URL is.
    .refine((value) => !URL.canParse(value) || new URL(value).username + new URL(value).password === '', {
      error:
        'without user:password@ (set ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, or ELASTICSEARCH_API_KEY, which are never logged)',
    })
    .default('http://localhost:9200')
    .describe('Elasticsearch URL, without credentials'),
  ELASTICSEARCH_INDEX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a lower-case Elasticsearch name')
    .default('clickstream-metrics')
    .describe('alias the metric documents are written and searched through'),
  ELASTICSEARCH_API_KEY: optionalString().describe('Elasticsearch API key (secret, never logged)'),
  ELASTICSEARCH_USERNAME: optionalString().describe('Elasticsearch basic-auth user'),
  ELASTICSEARCH_PASSWORD: optionalString().describe('Elasticsearch basic-auth password (secret, never logged)'),
};

/** What a group of variables above gives once parsed. */
type Parsed<Shape extends z.ZodRawShape> = Readonly<z.output<z.ZodObject<Shape>>>;

/** The KAFKA_* connection variables as a service's configuration parses them (the Kafka adapter's input). */
export type KafkaSettings = Omit<Parsed<typeof kafkaEnv>, 'KAFKA_TOPIC'>;
/** The KAFKA_TOPIC_* variables as parsed: how a service creates the topics it needs. */
export type TopicCreationSettings = Parsed<typeof kafkaTopicCreationEnv>;
/** The CASSANDRA_* connection variables as parsed (the Cassandra adapter's input). */
export type CassandraSettings = Omit<Parsed<typeof cassandraEnv>, 'CASSANDRA_REPLICATION'>;
/** The ELASTICSEARCH_* connection variables as parsed (the Elasticsearch adapter's input). */
export type ElasticsearchSettings = Omit<Parsed<typeof elasticsearchEnv>, 'ELASTICSEARCH_INDEX'>;
