import { Kafka, logLevel } from 'kafkajs';
import type { LogEntry, SASLOptions } from 'kafkajs';
import type { Logger } from '@clickstream/observability';
import { registerCompressionCodecs } from './codecs.ts';

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
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * The pino level of one of kafkajs's own log lines. A consumer crash is logged by kafkajs at error
 * level ("Crash: ...", then "Restarting the consumer in ...") even when it restarts by itself, as
 * on every fresh broker ("The coordinator is loading"). Those two go out as warnings: the batch
 * consumer's crash handler decides, and a crash that stops the service is logged as an error there.
 */
function pinoLevelOf(level: number, message: string): 'error' | 'warn' | 'info' | 'debug' {
  const name = levelNames[level] ?? 'info';
  return name === 'error' && /^(Crash: |Restarting the consumer in )/.test(message) ? 'warn' : name;
}

/** Creates a kafkajs client whose own log lines go through pino (child `component: kafkajs`). */
export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
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
        kafkaLogger[pinoLevelOf(level, message)](rest, message);
      },
  });
  return { kafka };
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
