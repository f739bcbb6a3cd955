import { z } from 'zod';

type Values = Record<string, unknown>;
type Issue = { variable: string; message: string };

/** Variables that only make sense together: when any is set, each of the others must be too. */
const TOGETHER: readonly (readonly string[])[] = [
  ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'],
  ['CASSANDRA_USERNAME', 'CASSANDRA_PASSWORD'],
  ['ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD'],
];

/** Variables that must not be equal when both are set: a dead-letter topic that is the topic feeds ingest its own dead letters, for ever. */
const DISTINCT: readonly (readonly [string, string])[] = [['KAFKA_DLQ_TOPIC', 'KAFKA_TOPIC']];

/**
 * The checks across variables that every service's configuration gets: settings that only make
 * sense together (SASL needs its mechanism, user name and password; a user name needs its
 * password), variables that must differ (the dead-letter topic and the topic), and each `*_RETRY_INITIAL_DELAY_MS` at most its `*_RETRY_MAX_DELAY_MS`.
 * `variables` are the names the service reads; only those are checked.
 */
export function crossFieldIssues(config: Values, variables: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  for (const group of TOGETHER) {
    const known = group.filter((variable) => variables.includes(variable));
    const set = known.filter((variable) => config[variable] !== undefined);
    if (set.length === 0 || set.length === known.length) continue;
    for (const variable of known.filter((v) => config[v] === undefined))
      issues.push({ variable, message: `required when ${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set` });
  }
  for (const [variable, other] of DISTINCT) {
    if (config[variable] !== undefined && config[variable] === config[other])
      issues.push({ variable, message: `must differ from ${other}` });
  }
  for (const [initialName, initial] of Object.entries(config)) {
    const prefix = /^(.*)_RETRY_INITIAL_DELAY_MS$/.exec(initialName)?.[1];
    if (prefix === undefined) continue;
    const maxName = `${prefix}_RETRY_MAX_DELAY_MS`;
    const max = config[maxName];
    if (typeof initial === 'number' && typeof max === 'number' && initial > max)
      issues.push({ variable: initialName, message: `must be at most ${maxName} (${max})` });
  }
  return issues;
}

/**
 * A service's configuration schema: the object of its variables (the keys are the names users
 * set) with the cross-variable checks of {@link crossFieldIssues}. Use it for every service, so
 * that a check added here applies to all of them.
 */
export function serviceConfigSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  const variables = Object.keys(shape);
  return z.object(shape).superRefine((config, ctx) => {
    for (const issue of crossFieldIssues(config, variables))
      ctx.addIssue({ code: 'custom', path: [issue.variable], message: issue.message });
  });
}
