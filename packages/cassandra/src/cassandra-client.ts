import cassandra from 'cassandra-driver';
import type { Logger } from '@clickstream/observability';
import { connectError } from './errors.ts';

/** How to reach Cassandra. Credentials are used for the connection only and never logged. */
export interface CassandraConnection {
  contactPoints: readonly string[];
  localDataCenter: string;
  keyspace: string;
  username?: string;
  password?: string;
  ssl?: boolean;
  /** Client-side timeout of one request. */
  requestTimeoutMs?: number;
}

/** The handle the repositories take. The driver stays inside this package. */
export interface CassandraClient {
  readonly driver: cassandra.Client;
  readonly keyspace: string;
  shutdown(): Promise<void>;
}

/** The driver's documented "no client-side timestamps" value (`null`), which its typings leave out. */
const SERVER_SIDE_WRITE_TIMES = null as unknown as cassandra.policies.timestampGeneration.TimestampGenerator;

/**
 * Connects to the cluster without selecting a keyspace (the keyspace may not exist yet: see
 * `ensureSchema`). Statements name the keyspace explicitly.
 */
export async function connectCassandra(connection: CassandraConnection, logger: Logger): Promise<CassandraClient> {
  const driver = new cassandra.Client({
    contactPoints: [...connection.contactPoints],
    localDataCenter: connection.localDataCenter,
    ...(connection.username ? { credentials: { username: connection.username, password: connection.password ?? '' } } : {}),
    // The driver's own default skips the certificate check (rejectUnauthorized: false): anyone
    // between the service and Cassandra could then pose as it and be sent the credentials.
    ...(connection.ssl ? { sslOptions: { rejectUnauthorized: true } } : {}),
    socketOptions: { readTimeout: connection.requestTimeoutMs ?? 12_000, connectTimeout: 5_000 },
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum, prepare: true },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
    policies: {
      // A host that comes back is tried again within 5 s (the driver's default backs off to 10
      // minutes): a short outage then ends well inside the services' retry budgets instead of
      // outlasting them while the server is already up again.
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(500, 5_000, false),
      // Write times from Cassandra's clock, not this node's (the driver's default): a row written by
      // an ingest whose clock ran a year ahead kept every replay of its event (a correction, another
      // user) from overwriting it for that year. The aggregator's writes carry their own fenced times.
      timestampGeneration: SERVER_SIDE_WRITE_TIMES,
    },
  });
  const log = logger.child({ component: 'cassandra-driver' });
  driver.on('log', (level: string, className: string, message: string) => {
    if (level === 'warning' || level === 'error') log.warn({ className }, message);
  });
  try {
    await driver.connect();
  } catch (err) {
    throw connectError(err);
  }
  return { driver, keyspace: connection.keyspace, shutdown: () => driver.shutdown() };
}

/**
 * Runs a trivial CQL query; resolves with the server's release version, rejects when it cannot,
 * or (with `timeoutMs`) when the server has not answered within it, where the client's own read
 * timeout would wait much longer (readiness checks).
 */
export async function pingCassandra(client: CassandraClient, options: { timeoutMs?: number } = {}): Promise<{ releaseVersion: string }> {
  const result = await client.driver.execute('SELECT release_version FROM system.local', [], {
    prepare: false,
    ...(options.timeoutMs === undefined ? {} : { readTimeout: options.timeoutMs }),
  });
  return { releaseVersion: String(result.first()?.get('release_version') ?? 'unknown') };
}

/**
 * The time of the Cassandra node that answers (its `now()`), epoch milliseconds. Cassandra counts
 * TTLs and decides last-write-wins by its own clocks, so a process whose node clock is off can
 * still ask it what time it is.
 */
export async function readCassandraTimeMs(client: CassandraClient): Promise<number> {
  const result = await client.driver.execute('SELECT toUnixTimestamp(now()) AS now_ms FROM system.local', [], { prepare: false });
  const nowMs = Number(result.first()?.get('now_ms'));
  if (!Number.isSafeInteger(nowMs)) throw new Error(`Cassandra answered no time: ${String(result.first()?.get('now_ms'))}`);
  return nowMs;
}
