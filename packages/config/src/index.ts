export { parseCommandArguments, parseCommandLine } from './command-line.ts';
export {
  MAX_TIMER_MS,
  booleanFlag,
  commaList,
  durationMs,
  nonBlankString,
  nonNegativeInt,
  optionalString,
  port,
  positiveInt,
  wholeNumber,
} from './env-schema.ts';
export { ConfigError, parseConfig } from './parse-config.ts';
export {
  cassandraEnv,
  elasticsearchEnv,
  httpEnv,
  KEYSPACE_NAME,
  kafkaTopicName,
  kafkaEnv,
  kafkaTopicCreationEnv,
  loggingEnv,
  schemaEnv,
} from './connection-env.ts';
export type { CassandraSettings, ElasticsearchSettings, KafkaSettings, Replication, TopicCreationSettings } from './connection-env.ts';
export { crossFieldIssues, serviceConfigSchema } from './service-schema.ts';
