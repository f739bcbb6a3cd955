import type { CassandraConnection } from './cassandra-client.ts';

/** The CASSANDRA_* variables as a service's configuration parses them (see `cassandraEnv` in @clickstream/config). */
export interface CassandraSettings {
  readonly CASSANDRA_CONTACT_POINTS: readonly string[];
  readonly CASSANDRA_LOCAL_DC: string;
  readonly CASSANDRA_KEYSPACE: string;
  readonly CASSANDRA_USERNAME?: string | undefined;
  readonly CASSANDRA_PASSWORD?: string | undefined;
  readonly CASSANDRA_SSL: boolean;
}

/** The connection a service's parsed CASSANDRA_* settings describe; credentials only when a user name is set. */
export function cassandraConnectionOf(settings: CassandraSettings): CassandraConnection {
  return {
    contactPoints: settings.CASSANDRA_CONTACT_POINTS,
    localDataCenter: settings.CASSANDRA_LOCAL_DC,
    keyspace: settings.CASSANDRA_KEYSPACE,
    ...(settings.CASSANDRA_USERNAME ? { username: settings.CASSANDRA_USERNAME, password: settings.CASSANDRA_PASSWORD ?? '' } : {}),
    ssl: settings.CASSANDRA_SSL,
  };
}
