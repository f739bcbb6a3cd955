import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureSchema, readEventsTtlHistory } from './index.ts';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
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

test('when the events retention is raised, then the TTL before is recorded (its events keep it); not when it is lowered', async () => {
  // A keyspace of its own: the test above changes the TTL too.
  const own = { ...client, keyspace: `${keyspace}_raise` };
  const raisesOf = async () => (await readEventsTtlHistory(own)).raises.map((raise) => raise.previousTtlSeconds);
  try {
    await ensureSchema(own, replication, { eventsTtlSeconds: 0 });
    await ensureSchema(own, replication, { eventsTtlSeconds: 86_400 });
    assert.deepEqual(await readEventsTtlHistory(own), { ttlSeconds: 86_400, raises: [] }, 'from none to a day: a lowering');
    const before = Date.now();
    await ensureSchema(own, replication, { eventsTtlSeconds: 3 * 86_400 });
    const [raise] = (await readEventsTtlHistory(own)).raises;
    assert.equal(raise?.previousTtlSeconds, 86_400);
    // Cassandra's clock, which the run plans by: the local one within a minute.
    assert.ok(Math.abs((raise?.changedAtMs ?? 0) - before) < 60_000, `raised at ${raise?.changedAtMs}, about ${before}`);
    await ensureSchema(own, replication, { eventsTtlSeconds: 3 * 86_400 });
    await ensureSchema(own, replication, { eventsTtlSeconds: 2 * 86_400 });
    assert.deepEqual(await raisesOf(), [86_400], 'the same TTL again, then a lowering: nothing recorded');
    await ensureSchema(own, replication, { eventsTtlSeconds: 0 });
    assert.deepEqual(await raisesOf(), [86_400, 2 * 86_400], 'to no TTL: a raise');
    assert.equal((await readEventsTtlHistory(own)).ttlSeconds, 0);
    // An aggregator upgraded before the schema step ran (no table yet): no raise known, no failed run.
    await client.driver.execute(`DROP TABLE ${own.keyspace}.ttl_raises`);
    assert.deepEqual(await readEventsTtlHistory(own), { ttlSeconds: 0, raises: [] });
  } finally {
    await client.driver.execute(`DROP KEYSPACE IF EXISTS ${own.keyspace}`);
  }
});

test('when the events retention is out of range, then the schema step refuses it by name', async () => {
  await assert.rejects(ensureSchema(client, replication, { eventsTtlSeconds: -1 }), /events TTL/);
  await assert.rejects(ensureSchema(client, replication, { eventsTtlSeconds: 1.5 }), /events TTL/);
});

test('when day_totals predates its all-time sums, then the schema step adds them, once, keeping the rows', async () => {
  const old = `${keyspace}_old`;
  await client.driver.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${old} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  try {
    await client.driver.execute(`CREATE TABLE ${old}.day_totals (
      url_key text, country text, day timestamp, clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint,
      PRIMARY KEY ((url_key, country), day))`);
    await client.driver.execute(`INSERT INTO ${old}.day_totals (url_key, country, day, clicks) VALUES ('/a', 'FR', '2024-03-10', 3)`);
    const upgraded = { ...client, keyspace: old };
    const columns = async (): Promise<string[]> =>
      (
        await client.driver.execute('SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [
          old,
          'day_totals',
        ])
      ).rows
        .filter((row) => row.get('kind') === 'static')
        .map((row) => row.get('column_name') as string)
        .sort();
    await ensureSchema(upgraded, replication);
    const added = ['all_clicks', 'all_days', 'all_time_spent_samples', 'all_time_spent_sum_ms'];
    assert.deepEqual(await columns(), added);
    await ensureSchema(upgraded, replication);
    assert.deepEqual(await columns(), added, 'a second start changes nothing');
    const row = (
      await client.driver.execute(`SELECT clicks, all_days FROM ${old}.day_totals WHERE url_key = '/a' AND country = 'FR'`)
    ).first();
    assert.deepEqual([Number(row?.get('clicks')), row?.get('all_days')], [3, null]);
  } finally {
    await client.driver.execute(`DROP KEYSPACE IF EXISTS ${old}`);
  }
});

test('when an existing keyspace has another replication than asked, then the schema step keeps it and warns how to change it', async () => {
  const own = { ...client, keyspace: `${keyspace}_rf` };
  const { lines, logger } = capturedLogger();
  const warnings = (): Record<string, unknown>[] => lines.filter((line) => line.level === 'warn');
  try {
    await ensureSchema(own, replication, { logger });
    assert.deepEqual(warnings(), [], 'created as asked: nothing to say');
    await ensureSchema(own, { class: 'SimpleStrategy', replicationFactor: 3 }, { logger });
    const [warning, ...more] = warnings();
    assert.equal(more.length, 0);
    assert.deepEqual([warning?.keyspace, warning?.actual, warning?.wanted], [own.keyspace, 'SimpleStrategy 1', 'SimpleStrategy 3']);
    assert.match(
      String(warning?.msg),
      new RegExp(`ALTER KEYSPACE ${own.keyspace} WITH replication = \\{'class': 'SimpleStrategy', 'replication_factor': 3\\}.*repair`),
    );
    const stored = (
      await client.driver.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [own.keyspace])
    ).first();
    assert.equal((stored?.get('replication') as Record<string, string>).replication_factor, '1', 'the replication is not changed');
    // Per data centre: the same factors are the same replication; another strategy is not.
    await client.driver.execute(`ALTER KEYSPACE ${own.keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1}`);
    lines.length = 0;
    await ensureSchema(own, { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 1 } }, { logger });
    assert.deepEqual(warnings(), []);
    await ensureSchema(own, replication, { logger });
    assert.deepEqual(
      warnings().map((line) => [line.actual, line.wanted]),
      [['NetworkTopologyStrategy datacenter1:1', 'SimpleStrategy 1']],
    );
  } finally {
    await client.driver.execute(`DROP KEYSPACE IF EXISTS ${own.keyspace}`);
  }
});
