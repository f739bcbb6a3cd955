import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureSchema } from './index.ts';
import { testCassandra } from '../../../test/support/stack-clients.ts';
import type { CassandraClient } from './index.ts';

const keyspace = `schema_${process.pid}`;
const replication = { class: 'SimpleStrategy', replicationFactor: 1 } as const;
let client: CassandraClient;

before(async () => {
  client = await testCassandra(keyspace);
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

async function eventsTable(): Promise<{ ttl: number; compaction: string }> {
  const row = (
    await client.driver.execute(
      'SELECT default_time_to_live, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
      [keyspace, 'events'],
    )
  ).first();
  return { ttl: Number(row?.get('default_time_to_live')), compaction: String((row?.get('compaction') as Record<string, string>).class) };
}

test('when the events retention is set, changed and set again, then the table follows it and time-window compaction stays', async () => {
  await ensureSchema(client, replication);
  assert.equal((await eventsTable()).ttl, 0, 'keep forever by default');
  await ensureSchema(client, replication, { eventsTtlSeconds: 86_400 });
  assert.deepEqual(await eventsTable(), { ttl: 86_400, compaction: 'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy' });
  // The same settings again: nothing to change, and no error.
  await ensureSchema(client, replication, { eventsTtlSeconds: 86_400 });
  assert.equal((await eventsTable()).ttl, 86_400);
  await ensureSchema(client, replication, { eventsTtlSeconds: 0 });
  assert.equal((await eventsTable()).ttl, 0);
});

test('when the events retention is out of range, then the schema step refuses it by name', async () => {
  await assert.rejects(ensureSchema(client, replication, { eventsTtlSeconds: -1 }), /events TTL/);
  await assert.rejects(ensureSchema(client, replication, { eventsTtlSeconds: 1.5 }), /events TTL/);
});
