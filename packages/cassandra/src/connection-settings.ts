import type { CassandraSettings } from '@clickstream/config';
import type { CassandraConnection } from './cassandra-client.ts';

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
