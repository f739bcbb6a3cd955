import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testCassandra, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { createAggregatorStateRepository, ensureSchema } from './index.ts';
import type { AggregatorStateRepository, CassandraClient, WindowGroupState, HourGroupState } from './index.ts';

const keyspace = `aggstate_it_${uniqueSuffix()}`;
const HOUR = Date.UTC(2024, 2, 10, 10);
const DAY = Date.UTC(2024, 2, 10);
let client: CassandraClient;
let state: AggregatorStateRepository;

function hourGroup(urlKey: string, country: string, userIds: string[], clicks = userIds.length): HourGroupState {
  return { urlKey, country, clicks, timeSpentSumMs: 1_000 * clicks, timeSpentSamples: clicks, userIds: new Set(userIds) };
}

function plain(groups: HourGroupState[]): unknown[] {
  return groups
    .map((g) => ({ ...g, userIds: [...g.userIds].sort() }))
    .sort((a, b) => (a.urlKey + a.country < b.urlKey + b.country ? -1 : 1));
}

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, { class: 'SimpleStrategy', replicationFactor: 1 });
  state = createAggregatorStateRepository(client, { concurrency: 8 });
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when an hour is replaced, then reading it gives the new groups and users, and replaying the replacement changes nothing', async () => {
  const first = [hourGroup('/a', 'FR', ['u1', 'u2']), hourGroup('/b', 'US', ['u3'])];
  await state.replaceHour(HOUR, first, await state.readHour(HOUR));
  assert.deepEqual(plain(await state.readHour(HOUR)), plain(first));
  await state.replaceHour(HOUR, first, await state.readHour(HOUR));
  assert.deepEqual(plain(await state.readHour(HOUR)), plain(first));
  assert.deepEqual(
    (await state.readHourTotals(HOUR)).map((g) => [g.urlKey, g.clicks, g.uniqueUsers]),
    [
      ['/a', 2, 2],
      ['/b', 1, 1],
    ],
  );
  assert.equal(await state.countAllUsers('/a', 'FR'), 2);
});

test('when a recomputed hour loses a group and a user, then they are gone from the hour but the all-time users keep them', async () => {
  const next = [hourGroup('/a', 'FR', ['u1', 'u4'], 5)];
  await state.replaceHour(HOUR, next, await state.readHour(HOUR));
  assert.deepEqual(plain(await state.readHour(HOUR)), plain(next));
  assert.equal(await state.countAllUsers('/a', 'FR'), 3, 'u1, u2 and u4 were all counted at some point');
  assert.equal(await state.countAllUsers('/b', 'US'), 1);
  assert.equal(await state.countAllUsers('/nowhere', 'FR'), 0);
});

test('when a day is replaced, then its groups and the per-group day totals follow, and a group that left is removed from both', async () => {
  const day = (urlKey: string, clicks: number): WindowGroupState => ({
    urlKey,
    country: 'FR',
    clicks,
    timeSpentSumMs: 10 * clicks,
    timeSpentSamples: clicks,
    uniqueUsers: 1,
  });
  await state.replaceDay(DAY, [day('/a', 3), day('/b', 4)], await state.readDay(DAY));
  await state.replaceDay(DAY + 86_400_000, [day('/a', 7)], await state.readDay(DAY + 86_400_000));
  assert.deepEqual(
    (await state.readGroupDays('/a', 'FR')).map((t) => t.clicks),
    [3, 7],
  );
  await state.replaceDay(DAY, [day('/a', 5)], await state.readDay(DAY));
  assert.deepEqual(await state.readDay(DAY), [day('/a', 5)]);
  assert.deepEqual(
    (await state.readGroupDays('/a', 'FR')).map((t) => t.clicks),
    [5, 7],
  );
  assert.deepEqual(await state.readGroupDays('/b', 'FR'), []);
});

test('when windows are marked open and then final, then only the ones still open are listed', async () => {
  await state.markOpen([
    { granularity: 'hour', windowStartMs: HOUR },
    { granularity: 'day', windowStartMs: DAY },
  ]);
  await state.markFinal([{ granularity: 'hour', windowStartMs: HOUR }]);
  assert.deepEqual(await state.listOpenWindows(), [{ granularity: 'day', windowStartMs: DAY }]);
});
