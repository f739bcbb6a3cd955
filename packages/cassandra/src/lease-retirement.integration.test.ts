/**
 * The lease of earlier releases closed to them (by `npm run migrate` and every aggregator start),
 * on the real Cassandra. An earlier release (`lease_grants`, the lease `aggregation`) takes and renews its
 * lease with the same statements as this package's lease repository, so the repository under
 * that name stands for it; before fencing tokens the lease was an `INSERT ... IF NOT EXISTS` into
 * `leases`. (A rolling update from a release before the 32-bit fencing layout left 822 documents
 * short for good: its replica, granted the lease after one of this release had written, wrote
 * below it.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pollUntil, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { AGGREGATION_LEASE, createLeaseRepository, ensureSchema, retireEarlierLeases } from './index.ts';
import type { CassandraClient, LeaseRepository } from './index.ts';

const replication = { class: 'SimpleStrategy', replicationFactor: 1 } as const;
/** The lease earlier releases take. */
const EARLIER = 'aggregation';
const keyspaces: string[] = [];
const clients: CassandraClient[] = [];

async function keyspaceWithSchema(): Promise<{ client: CassandraClient; leases: LeaseRepository }> {
  const keyspace = `leaseret_it_${uniqueSuffix()}`;
  keyspaces.push(keyspace);
  const client = await testCassandra(keyspace);
  clients.push(client);
  await ensureSchema(client, replication);
  return { client, leases: createLeaseRepository(client) };
}

let shared: { client: CassandraClient; leases: LeaseRepository };
before(async () => {
  shared = await keyspaceWithSchema();
});
after(async () => {
  for (const keyspace of keyspaces) await shared.client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  for (const client of clients) await client.shutdown();
});

test('when an earlier release holds its lease at the upgrade, then it loses it for good, and this release waits out its grant and continues its tokens', async () => {
  const { leases } = shared;
  // Four grants by earlier replicas, the fifth held now, 4 s of it left.
  for (let token = 1; token <= 4; token++) {
    assert.equal(await leases.tryAcquire(EARLIER, 'old-a', 60_000), token);
    await leases.release(EARLIER, 'old-a', token);
  }
  assert.equal(await leases.tryAcquire(EARLIER, 'old-b', 4_000), 5);

  await retireEarlierLeases(shared.client, testLogger);

  assert.equal(await leases.renew(EARLIER, 'old-b', 5, 60_000), false, 'the earlier holder cannot renew: its run aborts');
  assert.equal(await leases.tryAcquire(EARLIER, 'old-c', 60_000), null, 'no earlier replica takes it');
  assert.equal(
    await leases.tryAcquire(AGGREGATION_LEASE, 'new', 60_000),
    null,
    'this release waits while the earlier grant may still write',
  );
  const first = await pollUntil(
    () => leases.tryAcquire(AGGREGATION_LEASE, 'new', 60_000),
    (token) => token !== null,
    30_000,
  );
  assert.equal(first, 6, "this release's first grant comes after every earlier one");
  assert.equal(await leases.tryAcquire(EARLIER, 'old-c', 60_000), null, 'still closed once the earlier grant has run out');
  assert.match((await leases.holderOf(EARLIER)) ?? '', /^retired: /);

  // Run again (every start does), it changes nothing: tokens go on from this release's own.
  await leases.release(AGGREGATION_LEASE, 'new', 6);
  await retireEarlierLeases(shared.client, testLogger);
  assert.equal(await leases.tryAcquire(AGGREGATION_LEASE, 'new', 60_000), 7);
  await leases.release(AGGREGATION_LEASE, 'new', 7);
});

test('when a new keyspace is set up, then the earlier lease is closed from the start and this release takes its first grant at once', async () => {
  const { client, leases } = await keyspaceWithSchema();
  await retireEarlierLeases(client, testLogger);
  assert.equal(await leases.tryAcquire(EARLIER, 'old', 60_000), null);
  assert.equal(await leases.tryAcquire(AGGREGATION_LEASE, 'new', 60_000), 1);
});

test('when a keyspace still has the lease table of releases before fencing tokens, then their way of taking the lease fails for good', async () => {
  const { client } = await keyspaceWithSchema();
  const ks = client.keyspace;
  await client.driver.execute(`CREATE TABLE ${ks}.leases (name text PRIMARY KEY, holder text)`);
  const takeAsBefore = async (): Promise<boolean> =>
    (
      await client.driver.execute(`INSERT INTO ${ks}.leases (name, holder) VALUES (?, ?) IF NOT EXISTS USING TTL 60`, [EARLIER, 'old'], {
        prepare: true,
      })
    ).wasApplied();
  assert.equal(await takeAsBefore(), true, 'free before the upgrade');
  await client.driver.execute(`DELETE FROM ${ks}.leases WHERE name = ? IF holder = ?`, [EARLIER, 'old'], { prepare: true });

  await retireEarlierLeases(client, testLogger);

  assert.equal(await takeAsBefore(), false);
});
