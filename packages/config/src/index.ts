export { booleanFlag, commaList, optionalString, port, positiveInt } from './env-schema.ts';
export { ConfigError, describeVariables, parseConfig } from './parse-config.ts';
export { cassandraEnv, elasticsearchEnv, httpEnv, kafkaEnv, loggingEnv, parseReplication } from './connection-env.ts';
