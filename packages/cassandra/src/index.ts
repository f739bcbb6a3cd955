export { connectCassandra, pingCassandra } from './cassandra-client.ts';
export type { CassandraClient, CassandraConnection } from './cassandra-client.ts';
export { CassandraUnavailableError, classifyCassandraError } from './errors.ts';
export { EVENT_BUCKETS, ensureSchema } from './schema.ts';
export type { Replication } from './schema.ts';
export { createEventsRepository, eventBucket } from './events-repository.ts';
export type { EventsRepository, StoredEventFacts } from './events-repository.ts';
export { createPendingHoursRepository } from './pending-hours.ts';
export type { PendingHour, PendingHoursRepository } from './pending-hours.ts';
