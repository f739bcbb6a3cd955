export { connectCassandra, pingCassandra } from './cassandra-client.ts';
export type { CassandraClient, CassandraConnection } from './cassandra-client.ts';
