/**
 * A keyspace written before `hour_user_sets` (users kept one row each in `hour_users`), upgraded
 * by the aggregator's schema step on the real Cassandra: every hour group reads back its users,
 * a set the aggregator stored after the upgrade began wins over the copy, the legacy table is gone
 * and a second upgrade is a no-op.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import cassandra from 'cassandra-driver';
import type { HourGroup } from '@clickstream/metrics';
import { testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createAggregatorStateRepository, createWriteFence, ensureSchema } from './index.ts';
import type { CassandraClient } from './index.ts';

const keyspace = `upgrade_it_${uniqueSuffix()}`;
const replication = { class: 'SimpleStrategy', replicationFactor: 1 } as const;
const HOUR = Date.UTC(2026, 10, 20, 10);
const NEXT_HOUR = HOUR + 3_600_000;
const TTL_S = 7_200;
const upgrade = { logger: testLogger, upgrade: { userStateTtlSeconds: TTL_S } };
let client: CassandraClient;

/** Users of each legacy (hour, url, country); `/many` needs several chunks of the new table. */
const legacy: { hourMs: number; urlKey: string; country: string; users: string[] }[] = [
  { hourMs: HOUR, urlKey: '/a', country: 'FR', users: ['u1', 'u2', 'u"3\\'] },
  {
    hourMs: HOUR,
    urlKey: '/many',
    country: 'DE',
    users: Array.from({ length: 3_000 }, (_, i) => `user-${String(i).padStart(6, '0')}-${'x'.repeat(30)}`),
  },
  { hourMs: HOUR, urlKey: '/newer', country: 'US', users: ['old-1', 'old-2'] },
  { hourMs: NEXT_HOUR, urlKey: '/a', country: 'FR', users: ['u9'] },
];

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, replication);
  await client.driver.execute(`CREATE TABLE ${keyspace}.hour_users (
    hour timestamp, url_key text, country text, user_id text,
    PRIMARY KEY (hour, url_key, country, user_id)
  )`);
  const rows = legacy.flatMap((group) => [
    {
      query: `INSERT INTO ${keyspace}.hour_groups (hour, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users) VALUES (?, ?, ?, ?, 0, 0, ?)`,
      params: [new Date(group.hourMs), group.urlKey, group.country, group.users.length, group.users.length],
    },
    ...group.users.map((userId) => ({
      query: `INSERT INTO ${keyspace}.hour_users (hour, url_key, country, user_id) VALUES (?, ?, ?, ?)`,
      params: [new Date(group.hourMs), group.urlKey, group.country, userId],
    })),
  ]);
  await cassandra.concurrent.executeConcurrent(client.driver, rows, { concurrencyLevel: 64 });
});

after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

function usersByGroup(groups: readonly HourGroup[]): Record<string, string[]> {
  return Object.fromEntries(groups.map((g) => [`${g.urlKey} ${g.country}`, [...g.userIds].sort()]));
}

test('when a keyspace from before hour_user_sets is upgraded, then every hour group keeps its users, a newer stored set wins, and hour_users is dropped', async () => {
  const state = createAggregatorStateRepository(client, { concurrency: 8 });
  // The aggregator of this version stored /newer's set already (a fenced write): the copy must not undo it.
  const newer: HourGroup = {
    urlKey: '/newer',
    country: 'US',
    clicks: 1,
    timeSpentSumMs: 0,
    timeSpentSamples: 0,
    userIds: new Set(['fresh']),
  };
  const stored = await state.readHour(HOUR);
  await state.replaceHour(
    HOUR,
    stored.map((g) => (g.urlKey === '/newer' ? newer : g)),
    stored,
    createWriteFence(1),
  );

  await ensureSchema(client, replication, upgrade);

  const expected = (hourMs: number): Record<string, string[]> =>
    Object.fromEntries(legacy.filter((g) => g.hourMs === hourMs).map((g) => [`${g.urlKey} ${g.country}`, [...g.users].sort()]));
  assert.deepEqual(usersByGroup(await state.readHour(HOUR)), { ...expected(HOUR), '/newer US': ['fresh'] });
  assert.deepEqual(usersByGroup(await state.readHour(NEXT_HOUR)), expected(NEXT_HOUR));

  const tables = await client.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
    keyspace,
    'hour_users',
  ]);
  assert.equal(tables.rowLength, 0, 'hour_users dropped');
  const chunks = await client.driver.execute(
    `SELECT chunk, TTL(users) AS ttl FROM ${keyspace}.hour_user_sets WHERE hour = ? AND url_key = ? AND country = ?`,
    [new Date(HOUR), '/many', 'DE'],
  );
  assert.ok(chunks.rowLength > 1, `/many is stored in several chunks (${chunks.rowLength})`);
  for (const row of chunks.rows) {
    const ttl = Number(row.get('ttl'));
    assert.ok(ttl > 0 && ttl <= TTL_S, `chunk ${String(row.get('chunk'))} expires with the user-state TTL (${ttl} s)`);
  }

  // Once upgraded, the step finds nothing to copy and changes nothing.
  await ensureSchema(client, replication, upgrade);
  assert.deepEqual(usersByGroup(await state.readHour(HOUR)), { ...expected(HOUR), '/newer US': ['fresh'] });
});
