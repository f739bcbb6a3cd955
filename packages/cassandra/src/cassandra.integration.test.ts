import assert from 'node:assert/strict';
import { after, before, mock, test } from 'node:test';
import { pingCassandra, readCassandraTimeMs } from './index.ts';
import { testCassandra } from '../../../test/support/stack-clients.ts';
import type { CassandraClient } from './index.ts';

const keyspace = `smoke_${process.pid}`;
let client: CassandraClient;

before(async () => {
  client = await testCassandra(keyspace);
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when Cassandra is up, then a CQL query answers with its release version', async () => {
  const { releaseVersion } = await pingCassandra(client);
  assert.match(releaseVersion, /^5\.0\./);
  console.log(`cassandra: release ${releaseVersion}`);
});

test('when a keyspace and table are created, then a row round-trips through a prepared statement', async () => {
  await client.driver.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  await client.driver.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.smoke (id text PRIMARY KEY, at timestamp, n bigint)`);
  const at = new Date('2024-05-01T10:00:00.123Z');
  await client.driver.execute(`INSERT INTO ${keyspace}.smoke (id, at, n) VALUES (?, ?, ?)`, ['a', at, 42], { prepare: true });
  const row = (await client.driver.execute(`SELECT id, at, n FROM ${keyspace}.smoke WHERE id = ?`, ['a'], { prepare: true })).first();
  assert.ok(row, 'the row is there');
  assert.equal(row.get('id'), 'a');
  assert.equal((row.get('at') as Date).toISOString(), at.toISOString());
  assert.equal(Number(row.get('n')), 42);
});

test("when Cassandra is asked the time, then it answers its own clock's, in epoch ms, never going back", async () => {
  const first = await readCassandraTimeMs(client);
  const second = await readCassandraTimeMs(client);
  assert.ok(Number.isSafeInteger(first) && first > Date.UTC(2020, 0, 1), `an epoch ms time: ${first}`);
  assert.ok(second >= first, `${second} >= ${first}`);
});

test("when this process's clock runs a year ahead, then a row it writes is still dated by Cassandra's clock", async () => {
  // A replay of an event (same key, new content) must overwrite the row whichever ingest node
  // wrote it first: with client-side write times, a node a year ahead made its rows win for a year.
  await client.driver.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  await client.driver.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.dated (id text PRIMARY KEY, v text)`);
  const before = await readCassandraTimeMs(client);
  const realNow = Date.now.bind(Date);
  mock.method(Date, 'now', () => realNow() + 365 * 24 * 3_600_000);
  try {
    await client.driver.execute(`INSERT INTO ${keyspace}.dated (id, v) VALUES (?, ?)`, ['a', 'ahead'], { prepare: true });
  } finally {
    mock.restoreAll();
  }
  const after = await readCassandraTimeMs(client);
  const row = (
    await client.driver.execute(`SELECT writetime(v) AS wt FROM ${keyspace}.dated WHERE id = ?`, ['a'], { prepare: true })
  ).first();
  const writtenMs = Number(row?.get('wt')) / 1_000;
  assert.ok(
    writtenMs >= before - 1 && writtenMs <= after + 1,
    `written at ${new Date(writtenMs).toISOString()}, Cassandra's clock ${new Date(before).toISOString()}`,
  );
});
