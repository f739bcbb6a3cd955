/**
 * A keyspace written by v1 (a marker row per ingest batch and hour in `pending_hours`), upgraded
 * by the aggregator's schema step on the real Cassandra: the hours still marked become pending in
 * the change counters, the legacy table is gone, and a second upgrade is a no-op.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import cassandra from 'cassandra-driver';
import { testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createPendingHoursRepository, ensureSchema } from './index.ts';
import type { CassandraClient } from './index.ts';

const keyspace = `pendingup_it_${uniqueSuffix()}`;
const replication = { class: 'SimpleStrategy', replicationFactor: 1 } as const;
const upgrade = { logger: testLogger, upgrade: { userStateTtlSeconds: 0 } };
const HOUR_MS = 3_600_000;
/** Hours v1 had marked and not processed yet: two on one day, one the day after. */
const MARKED = [Date.UTC(2026, 10, 20, 10), Date.UTC(2026, 10, 20, 11), Date.UTC(2026, 10, 21, 0)];
let client: CassandraClient;

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, replication);
  await client.driver.execute(`CREATE TABLE ${keyspace}.pending_hours (
    shard int, hour timestamp, marker timeuuid,
    PRIMARY KEY (shard, hour, marker)
  ) WITH gc_grace_seconds = 3600`);
  // Several batches marked each hour, on two shards; one processed marker was deleted.
  const rows = MARKED.flatMap((hourMs, i) =>
    [0, 1, 2].map((batch) => ({
      query: `INSERT INTO ${keyspace}.pending_hours (shard, hour, marker) VALUES (?, ?, now())`,
      params: [(i + batch) % 2, new Date(hourMs)],
    })),
  );
  await cassandra.concurrent.executeConcurrent(client.driver, rows, { concurrencyLevel: 16 });
  await client.driver.execute(`DELETE FROM ${keyspace}.pending_hours WHERE shard = 0 AND hour = ?`, [new Date(MARKED[0]! - HOUR_MS)]);
});

after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when a v1 keyspace with hours still marked is upgraded, then those hours are pending, and pending_hours is dropped', async () => {
  const pending = createPendingHoursRepository(client);
  assert.deepEqual((await pending.pending()).hours, [], 'nothing pending in the counters before');

  await ensureSchema(client, replication, upgrade);

  assert.deepEqual(
    (await pending.pending()).hours.map((hour) => hour.startMs),
    MARKED,
  );
  const tables = await client.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
    keyspace,
    'pending_hours',
  ]);
  assert.equal(tables.rowLength, 0, 'pending_hours dropped');

  // Once upgraded, the step finds nothing to mark: the counters stay as they are.
  const before = await pending.pending();
  await ensureSchema(client, replication, upgrade);
  assert.deepEqual(await pending.pending(), before);
});
