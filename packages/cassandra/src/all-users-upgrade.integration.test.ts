/**
 * A keyspace written by v1 (all-time users one row each in `all_users`), upgraded by the
 * aggregator's schema step on the real Cassandra: every group's users and count come over, a
 * group this version counted already ends with the union counted once, a copy run again counts
 * nobody twice, and the legacy table is gone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import cassandra from 'cassandra-driver';
import { testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createAggregatorStateRepository, createWriteFence, ensureSchema } from './index.ts';
import type { CassandraClient } from './index.ts';

const keyspace = `allusers_it_${uniqueSuffix()}`;
const replication = { class: 'SimpleStrategy', replicationFactor: 1 } as const;
const TTL_S = 7_200;
const upgrade = { logger: testLogger, upgrade: { userStateTtlSeconds: TTL_S } };
let client: CassandraClient;

/** v1's all-time users; `/many` needs several look-ups and batches. */
const legacy: { urlKey: string; country: string; users: string[] }[] = [
  { urlKey: '/a', country: 'FR', users: ['u1', 'u2', 'u"3\\'] },
  { urlKey: '/many', country: 'DE', users: Array.from({ length: 600 }, (_, i) => `user-${i}`) },
  { urlKey: '/both', country: 'US', users: ['old-1', 'old-2'] },
];

async function createLegacyTable(): Promise<void> {
  await client.driver.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.all_users (
    url_key text, country text, user_id text,
    PRIMARY KEY ((url_key, country), user_id)
  )`);
  const rows = legacy.flatMap((group) =>
    group.users.map((userId) => ({
      query: `INSERT INTO ${keyspace}.all_users (url_key, country, user_id) VALUES (?, ?, ?)`,
      params: [group.urlKey, group.country, userId],
    })),
  );
  await cassandra.concurrent.executeConcurrent(client.driver, rows, { concurrencyLevel: 64 });
}

async function storedUsers(urlKey: string, country: string): Promise<string[]> {
  const found = await client.driver.execute(`SELECT user_id FROM ${keyspace}.group_users WHERE url_key = ? AND country = ?`, [
    urlKey,
    country,
  ]);
  // The count's own row ('') is not a user.
  return found.rows
    .flatMap((row) => (row.get('user_id') === null || row.get('user_id') === '' ? [] : [row.get('user_id') as string]))
    .sort();
}

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, replication);
  await createLegacyTable();
});

after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when a v1 keyspace is upgraded, then every group keeps its all-time users and count, counted once, and all_users is dropped', async () => {
  const state = createAggregatorStateRepository(client, { concurrency: 8 });
  // This version counted /both already (a fenced write, far above the clock, and past 2^53 as a
  // large token's are): the copy must add to it, not undo it.
  const token = 2 ** 30;
  assert.equal(
    await state.writeAllTimeUsers(
      await state.planAllTimeUsers({ urlKey: '/both', country: 'US' }, new Set(['old-2', 'fresh'])),
      createWriteFence(token),
    ),
    2,
  );

  await ensureSchema(client, replication, upgrade);

  assert.equal(await state.countAllTimeUsers({ urlKey: '/a', country: 'FR' }), 3);
  assert.deepEqual(await storedUsers('/a', 'FR'), [...(legacy[0]?.users ?? [])].sort());
  assert.equal(await state.countAllTimeUsers({ urlKey: '/many', country: 'DE' }), 600);
  assert.equal((await storedUsers('/many', 'DE')).length, 600);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/both', country: 'US' }), 3, 'the union of both versions, counted once');
  assert.deepEqual(await storedUsers('/both', 'US'), ['fresh', 'old-1', 'old-2']);
  const tables = await client.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
    keyspace,
    'all_users',
  ]);
  assert.equal(tables.rowLength, 0, 'all_users dropped');

  // The aggregator then knows the copied users: only the new one counts.
  assert.equal(
    await state.writeAllTimeUsers(
      await state.planAllTimeUsers({ urlKey: '/a', country: 'FR' }, new Set(['u1', 'u4'])),
      createWriteFence(token + 1),
    ),
    4,
  );

  // A copy run again (an interrupted upgrade starts over) finds its users stored and counts nobody twice.
  await createLegacyTable();
  await ensureSchema(client, replication, upgrade);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/a', country: 'FR' }), 4);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/many', country: 'DE' }), 600);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/both', country: 'US' }), 3);

  // Once upgraded, the step finds nothing to copy and changes nothing.
  await ensureSchema(client, replication, upgrade);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/a', country: 'FR' }), 4);
});
