import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pollUntil, testCassandra, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createLeaseRepository, createPendingHoursRepository, createWriteFence, ensureSchema, highestReleasedToken } from './index.ts';
import type { CassandraClient, LeaseRepository } from './index.ts';

const keyspace = `lease_it_${uniqueSuffix()}`;
let client: CassandraClient;
let leases: LeaseRepository;

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, { class: 'SimpleStrategy', replicationFactor: 1 });
  leases = createLeaseRepository(client);
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when one holder has the lease, then a second is refused, cannot renew or release it, and gets it with a larger token once released', async () => {
  const first = await leases.tryAcquire('run', 'a', 60_000);
  assert.equal(first, 1);
  assert.equal(await leases.tryAcquire('run', 'b', 60_000), null);
  assert.equal(await leases.renew('run', 'b', 1, 60_000), false);
  await leases.release('run', 'b', 1);
  assert.equal(await leases.holderOf('run'), 'a');
  assert.equal(await leases.renew('run', 'a', 1, 60_000), true);
  await leases.release('run', 'a', 1);
  assert.equal(await leases.holderOf('run'), null);
  assert.equal(await leases.tryAcquire('run', 'b', 60_000), 2);
  assert.equal(await leases.renew('run', 'a', 1, 60_000), false, 'a lost the lease for good');
  await leases.release('run', 'b', 2);
  assert.equal(await leases.tryAcquire('run', 'a', 60_000), 3);
  assert.equal(await leases.renew('run', 'a', 1, 60_000), false, 'an old grant of the same holder is not the current one');
});

test("when a holder's grant was made but its answer lost, then the same holder takes it up again, renewed under its token; others are still refused", async () => {
  // A timed-out attempt that was applied after all (seen with a node killed during the Paxos
  // round): the holder did not know its token and waited out its own lease's TTL.
  assert.equal(await leases.tryAcquire('own', 'p', 3_000), 1);
  assert.equal(await leases.tryAcquire('own', 'p', 60_000), 1, 'the same grant, not a second one');
  const ttl = (await client.driver.execute(`SELECT TTL(holder) AS ttl FROM ${keyspace}.lease_grants WHERE name = 'own'`)).first();
  assert.ok(Number(ttl?.get('ttl')) > 3, `renewed with the new TTL, ${ttl?.get('ttl')} s left`);
  assert.equal(await leases.tryAcquire('own', 'q', 60_000), null);
  assert.equal(await leases.renew('own', 'p', 1, 60_000), true);
  await leases.release('own', 'p', 1);
  assert.equal(await leases.tryAcquire('own', 'q', 60_000), 2);
});

test('when eight holders race for a free lease, then exactly one gets it', async () => {
  const holders = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];
  const won = await Promise.all(holders.map((holder) => leases.tryAcquire('race', holder, 60_000)));
  assert.deepEqual(
    won.filter((token) => token !== null),
    [1],
  );
  assert.equal(await leases.holderOf('race'), holders[won.indexOf(1)]);
});

test('when a holder stops renewing, then its lease expires after the TTL and another holder takes it with a larger token', async () => {
  assert.equal(await leases.tryAcquire('ttl', 'gone', 1_000), 1);
  assert.equal(await leases.tryAcquire('ttl', 'next', 60_000), null);
  const holder = await pollUntil(
    () => leases.holderOf('ttl'),
    (h) => h === null,
    15_000,
    250,
  );
  assert.equal(holder, null);
  assert.equal(await leases.tryAcquire('ttl', 'next', 60_000), 2, 'the token outlives the expired grant');
  assert.equal(await leases.renew('ttl', 'gone', 1, 60_000), false);
});

test('when the lease row is lost (TRUNCATE lease_grants), then the next grant takes the token after the highest one the stores hold, not 1', async () => {
  // A run under token 41 recorded its work done, as every releasing run does.
  const pending = createPendingHoursRepository(client);
  const hour = Date.UTC(2024, 4, 1, 10);
  await pending.mark([hour]);
  await pending.release(await pending.pending(), createWriteFence(41));
  assert.equal(await highestReleasedToken(client), 41);
  let asked = 0;
  const guarded = createLeaseRepository(client, {
    highestTokenUsed: async () => {
      asked += 1;
      return highestReleasedToken(client);
    },
  });
  await client.driver.execute(`TRUNCATE ${keyspace}.lease_grants`);
  // Starting again from 1, every write of the next 41 grants would lose to what token 41 wrote
  // (Elasticsearch refused each with 409: every run failed).
  assert.equal(await guarded.tryAcquire('truncated', 'a', 60_000), 42);
  await guarded.release('truncated', 'a', 42);
  assert.equal(await guarded.tryAcquire('truncated', 'b', 60_000), 43, 'a stored token is followed, the stores not asked again');
  assert.equal(asked, 1);
});
