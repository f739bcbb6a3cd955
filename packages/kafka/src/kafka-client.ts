import { createRequire } from 'node:module';
import { Kafka, logLevel } from 'kafkajs';
import type { LogEntry, SASLOptions } from 'kafkajs';
import type { Logger } from '@clickstream/observability';
import { registerCompressionCodecs } from './codecs.ts';
import { MEMBERSHIP_TYPES } from './kafka-errors.ts';

/** How to reach the brokers. Secrets stay in here and are never logged. */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Timeout of one broker request. */
  requestTimeoutMs?: number;
  /** Retries of a failed request before giving up (kafkajs' own backoff between them). */
  retries?: number;
}

/** The handle every other function of this package takes. The driver stays inside the package. */
export interface KafkaClient {
  readonly kafka: Kafka;
  /**
   * The broker's message when it refused this client with the error `type` (an authorization
   * error such as GROUP_AUTHORIZATION_FAILED) within the last minute, else undefined. kafkajs
   * swallows some of these (it reports a group it may not use as "Failed to find group
   * coordinator") and only its log line shows them.
   */
  readonly lastRefusal?: (type: string) => string | undefined;
}

/** How long a refusal seen in a broker's answer explains a later failure. */
const REFUSAL_MEMORY_MS = 60_000;

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * The messages of the broker errors kafkajs retries by itself ("The group coordinator is not
 * available", "There is no leader for this topic-partition ..."), from its own error table (kafkajs
 * 2.2.4 is its last release). Empty if the table is not where it was: those lines stay errors.
 */
const BROKER_ERRORS: readonly { type: string; message: string; retriable: boolean }[] = (() => {
  try {
    return (
      createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
        errorCodes: readonly { type: string; message: string; retriable: boolean }[];
      }
    ).errorCodes;
  } catch {
    return [];
  }
})();
/**
 * The broker messages kafkajs or the batch consumer recovers from: the ones kafkajs retries, and
 * the group's "rebalancing, rejoin" answers (kafkajs calls them not retriable, but every member
 * gets them on every rebalance and rejoins).
 */
const RETRIED_BROKER_ERRORS: ReadonlySet<string> = new Set(
  BROKER_ERRORS.filter((error) => error.retriable || MEMBERSHIP_TYPES.has(error.type)).map((error) => error.message),
);
/** The error type of each broker message that refuses a client for good (authorization). */
const REFUSING_BROKER_ERRORS: ReadonlyMap<string, string> = new Map(
  BROKER_ERRORS.filter((error) => error.type.endsWith('_AUTHORIZATION_FAILED')).map((error) => [error.message, error.type]),
);

/**
 * The pino level of one of kafkajs's own log lines. kafkajs logs at error level what it recovers
 * from by itself, as on every fresh broker: a consumer crash it restarts from ("Crash: ...", then
 * "Restarting the consumer in ..."), and a broker's answer with an error it retries ("Response
 * GroupCoordinator(...)" with "The group coordinator is not available"). Those go out as warnings:
 * the batch consumer's crash handler decides, and a crash that stops the service is logged as an
 * error there; a request that still fails after kafkajs's retries fails its caller.
 */
function pinoLevelOf(level: number, message: string, fields: { error?: unknown }): 'error' | 'warn' | 'info' | 'debug' {
  const name = levelNames[level] ?? 'info';
  if (name !== 'error') return name;
  const recovered =
    /^(Crash: |Restarting the consumer in )/.test(message) ||
    (message.startsWith('Response ') && typeof fields.error === 'string' && RETRIED_BROKER_ERRORS.has(fields.error));
  return recovered ? 'warn' : name;
}

/** Creates a kafkajs client whose own log lines go through pino (child `component: kafkajs`). */
export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const refusals = new Map<string, { message: string; atMs: number }>();
  registerCompressionCodecs();
  const kafka = new Kafka({
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ssl: connection.ssl ?? false,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    connectionTimeout: 5_000,
    retry: { retries: connection.retries ?? 5 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...rest } = log;
        const refusal =
          message.startsWith('Response ') && typeof rest.error === 'string' ? REFUSING_BROKER_ERRORS.get(rest.error) : undefined;
        if (refusal !== undefined && typeof rest.error === 'string')
          refusals.set(refusal, { message: rest.error, atMs: performance.now() });
        kafkaLogger[pinoLevelOf(level, message, rest)](rest, message);
      },
  });
  return {
    kafka,
    lastRefusal: (type) => {
      const refusal = refusals.get(type);
      return refusal !== undefined && performance.now() - refusal.atMs <= REFUSAL_MEMORY_MS ? refusal.message : undefined;
    },
  };
}

/**
 * Asks the cluster for its metadata. Resolves with the broker count and controller id, rejects
 * when no broker answers within the client's timeouts. Used by readiness checks and the local stack.
 */
export async function pingKafka(client: KafkaClient): Promise<{ brokers: number; controller: number | null; clusterId: string }> {
  const admin = client.kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length, controller: cluster.controller, clusterId: cluster.clusterId };
  } finally {
    await admin.disconnect();
  }
}
