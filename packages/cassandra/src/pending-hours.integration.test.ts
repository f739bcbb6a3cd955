import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testCassandra, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createPendingHoursRepository, createWriteFence, ensureSchema } from './index.ts';
import type { CassandraClient, PendingHoursRepository } from './index.ts';

const keyspace = `pending_it_${uniqueSuffix()}`;
const HOUR = Date.UTC(2024, 4, 1, 10);
const DAY = Date.UTC(2024, 4, 1);
let client: CassandraClient;
let queue: PendingHoursRepository;

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, { class: 'SimpleStrategy', replicationFactor: 1 });
  queue = createPendingHoursRepository(client);
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when the change counters were truncated behind what was recorded done, then new changes are still pending, once', async () => {
  for (let batch = 0; batch < 3; batch++) await queue.mark([HOUR]);
  const first = await queue.pending();
  assert.deepEqual(first.hours, [{ startMs: HOUR, changes: 3 }]);
  await queue.release(first, createWriteFence(1));
  assert.deepEqual(await queue.pending(), { days: [], hours: [] });
  // An operator's TRUNCATE (or a restore of the counters alone) starts them again from 0: the
  // recorded done values (3) stay ahead of them, and with "pending while the counter is ahead"
  // the next changes of this day and hour were never aggregated, while every run succeeded.
  for (const table of ['hour_changes', 'day_changes']) await client.driver.execute(`TRUNCATE ${keyspace}.${table}`);
  await queue.mark([HOUR]);
  const after = await queue.pending();
  assert.deepEqual(after, { days: [{ startMs: DAY, changes: 1 }], hours: [{ startMs: HOUR, changes: 1 }] });
  await queue.release(after, createWriteFence(2));
  assert.deepEqual(await queue.pending(), { days: [], hours: [] });
  await queue.mark([HOUR]);
  assert.deepEqual((await queue.pending()).hours, [{ startMs: HOUR, changes: 2 }]);
});
