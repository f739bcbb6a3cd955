import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GroupRef, HourGroup, WindowGroup } from '@clickstream/metrics';
import { pollUntil, testCassandra, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { NO_DAYS, createAggregatorStateRepository, createWriteFence, ensureSchema } from './index.ts';
import type { AggregatorStateRepository, CassandraClient, KnownAllTimeUsers, WriteFence } from './index.ts';

const keyspace = `aggstate_it_${uniqueSuffix()}`;
const HOUR = Date.UTC(2024, 2, 10, 10);
const DAY = Date.UTC(2024, 2, 10);
let client: CassandraClient;
let state: AggregatorStateRepository;
let lastToken = 0;
/** A fence of a newer grant, as each run has. */
const nextFence = (): WriteFence => createWriteFence((lastToken += 1));

/** Plans and writes an addition of all-time users at once, as a writer that does not retry does. */
async function addAllTimeUsers(
  repository: AggregatorStateRepository,
  group: GroupRef,
  userIds: ReadonlySet<string>,
  fence: WriteFence,
  known?: KnownAllTimeUsers,
): Promise<number> {
  return repository.writeAllTimeUsers(await repository.planAllTimeUsers(group, userIds, known), fence);
}

function hourGroup(urlKey: string, country: string, userIds: string[], clicks = userIds.length): HourGroup {
  return { urlKey, country, clicks, timeSpentSumMs: 1_000 * clicks, timeSpentSamples: clicks, userIds: new Set(userIds) };
}

function plain(groups: HourGroup[]): unknown[] {
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
  await state.replaceHour(HOUR, first, await state.readHour(HOUR), nextFence());
  assert.deepEqual(plain(await state.readHour(HOUR)), plain(first));
  await state.replaceHour(HOUR, first, await state.readHour(HOUR), nextFence());
  assert.deepEqual(plain(await state.readHour(HOUR)), plain(first));
  assert.deepEqual(
    (await state.readHourTotals(HOUR)).groups.map((g) => [g.urlKey, g.clicks, g.uniqueUsers]),
    [
      ['/a', 2, 2],
      ['/b', 1, 1],
    ],
  );
});

test('when a recomputed hour loses a group and a user, then they are gone from the hour', async () => {
  // Its own hour and its own "before": it checks a loss whatever ran before it, and when run alone.
  const hour = HOUR + 11 * 3_600_000;
  const before = [hourGroup('/a', 'FR', ['u1', 'u2']), hourGroup('/b', 'US', ['u3'])];
  await state.replaceHour(hour, before, [], nextFence());
  assert.deepEqual(plain(await state.readHour(hour)), plain(before));
  const next = [hourGroup('/a', 'FR', ['u1', 'u4'], 5)];
  await state.replaceHour(hour, next, await state.readHour(hour), nextFence());
  assert.deepEqual(plain(await state.readHour(hour)), plain(next), "/b and /a's u2 are gone");
});

test('when an hour is read for some groups only, then exactly those groups come back with all their users, from few or many groups', async () => {
  const hour = HOUR + 7 * 3_600_000;
  const groups = Array.from({ length: 30 }, (_, i) =>
    hourGroup(
      `/g${i}`,
      i % 2 === 0 ? 'FR' : 'US',
      Array.from({ length: i === 3 ? 4_000 : 3 }, (_, u) => `u${u}`),
    ),
  );
  await state.replaceHour(hour, groups, [], nextFence());
  const wanted = [groups[3], groups[7], groups[20]].filter((g) => g !== undefined);
  const keys = new Set(wanted.map((g) => JSON.stringify([g.urlKey, g.country])));
  keys.add(JSON.stringify(['/absent', 'FR']));
  assert.deepEqual(plain(await state.readHour(hour, keys)), plain(wanted));
  assert.deepEqual(await state.readHour(hour, new Set()), []);
  assert.deepEqual(await state.readHour(hour + 3_600_000, keys), [], 'an hour without state');
  // Several IN lists (500 groups each): the wanted groups spread over the first, a middle and the last one.
  const several = [...Array.from({ length: 1_200 }, (_, i) => JSON.stringify([`/other${i}`, 'US']))];
  const wantedKeys = [...keys];
  several.splice(0, 0, wantedKeys[0] ?? '');
  several.splice(700, 0, wantedKeys[1] ?? '');
  several.push(...wantedKeys.slice(2));
  assert.deepEqual(plain(await state.readHour(hour, new Set(several))), plain(wanted), 'within the IN-list limit, several lists');
  const many = new Set(Array.from({ length: 6_000 }, (_, i) => JSON.stringify([`/other${i}`, 'FR'])));
  for (const key of keys) many.add(key);
  assert.deepEqual(plain(await state.readHour(hour, many)), plain(wanted), 'past the IN-list limit: the whole hour, filtered');
});

test('when a day is read for some groups only, then exactly those groups come back, from few or many groups', async () => {
  const dayMs = DAY + 5 * 86_400_000;
  const dayGroup = (i: number): WindowGroup => ({
    urlKey: `/d${i}`,
    country: i % 2 === 0 ? 'FR' : 'US',
    clicks: i + 1,
    timeSpentSumMs: 7 * i,
    timeSpentSamples: i,
    uniqueUsers: 1,
  });
  // In the partition's order (url, then country), as a read gives them.
  const groups = Array.from({ length: 30 }, (_, i) => dayGroup(i)).sort((a, b) => (a.urlKey < b.urlKey ? -1 : 1));
  await state.replaceDay(dayMs, groups, [], nextFence());
  const wanted = groups.filter((g) => ['/d3', '/d7', '/d20'].includes(g.urlKey));
  const keys = new Set(wanted.map((g) => JSON.stringify([g.urlKey, g.country])));
  keys.add(JSON.stringify(['/absent', 'FR']));
  assert.deepEqual(await state.readDay(dayMs, keys), wanted, 'one IN list: in the partition order');
  assert.deepEqual(await state.readDay(dayMs, new Set()), []);
  assert.deepEqual(await state.readDay(dayMs + 86_400_000, keys), [], 'a day without state');
  assert.deepEqual(await state.readDay(dayMs), groups, 'no filter: the whole day');
  const several = Array.from({ length: 1_200 }, (_, i) => JSON.stringify([`/other${i}`, 'US']));
  const wantedKeys = [...keys];
  several.splice(0, 0, wantedKeys[0] ?? '');
  several.splice(700, 0, wantedKeys[1] ?? '');
  several.push(...wantedKeys.slice(2));
  const byKey = (groups: WindowGroup[]) => [...groups].sort((a, b) => (a.urlKey < b.urlKey ? -1 : 1));
  assert.deepEqual(byKey(await state.readDay(dayMs, new Set(several))), wanted, 'within the IN-list limit, several lists');
  const many = new Set(Array.from({ length: 6_000 }, (_, i) => JSON.stringify([`/other${i}`, 'FR'])));
  for (const key of keys) many.add(key);
  assert.deepEqual(byKey(await state.readDay(dayMs, many)), wanted, 'past the IN-list limit: the whole day, filtered');
});

test('when a window of more groups than a page is read a page at a time, then every group comes once, no page holds more than its size, and a page read again is the same', async () => {
  const paged = createAggregatorStateRepository(client, { concurrency: 8, pageGroups: 1_000 });
  const hour = HOUR + 40 * 86_400_000;
  const day = DAY + 40 * 86_400_000;
  const groups = Array.from({ length: 2_500 }, (_, i) => hourGroup(`/p${i}`, i % 2 === 0 ? 'FR' : 'US', [`u${i}`]));
  const dayGroups: WindowGroup[] = groups.map(({ userIds, ...totals }) => ({ ...totals, uniqueUsers: userIds.size }));
  await paged.replaceHour(hour, groups, [], nextFence());
  await paged.replaceDay(day, dayGroups, [], nextFence());
  const key = (g: WindowGroup) => JSON.stringify([g.urlKey, g.country]);
  for (const [what, read] of [
    ['hour', (from?: string) => paged.readHourTotals(hour, from)],
    ['day', (from?: string) => paged.readDayTotals(day, from)],
  ] as const) {
    const sizes: number[] = [];
    const seen: WindowGroup[] = [];
    let from: string | undefined;
    do {
      const page = await read(from);
      assert.deepEqual(await read(from), page, `${what}: a page read again (a retry) is the same page`);
      sizes.push(page.groups.length);
      seen.push(...page.groups);
      from = page.next;
    } while (from !== undefined);
    assert.ok(sizes.length >= 3 && sizes.every((size) => size <= 1_000), `${what}: pages of ${sizes.join(', ')}`);
    assert.equal(new Set(seen.map(key)).size, 2_500, `${what}: every group once`);
    assert.deepEqual(
      seen.find((g) => g.urlKey === '/p7'),
      { urlKey: '/p7', country: 'US', clicks: 1, timeSpentSumMs: 1_000, timeSpentSamples: 1, uniqueUsers: 1 },
    );
  }
  assert.deepEqual(await paged.readDayTotals(day + 86_400_000), { groups: [], next: undefined }, 'a day without state: one empty page');
});

test('when an hour, a day and its marks are read by slices of their groups, then the slices are disjoint and whole together, and replacing one slice leaves the others', async () => {
  const hour = HOUR + 30 * 86_400_000;
  const day = DAY + 30 * 86_400_000;
  const groups = Array.from({ length: 40 }, (_, i) => hourGroup(`/s${i}`, i % 3 === 0 ? 'FR' : 'US', [`u${i}`, `v${i % 5}`]));
  const dayGroups: WindowGroup[] = groups.map(({ userIds, ...totals }) => ({ ...totals, uniqueUsers: userIds.size }));
  await state.replaceHour(hour, groups, [], nextFence());
  await state.replaceDay(day, dayGroups, [], nextFence());
  await state.markDayRolledUp(day, nextFence());
  await state.markDayGroups(day, groups, nextFence());
  const slices = 4;
  const parts = await Promise.all(
    Array.from({ length: slices }, async (_, index) => ({
      hour: await state.readHour(hour, { index, slices }),
      day: await state.readDay(day, { index, slices }),
      marks: await state.readDayMarks(day, { index, slices }),
    })),
  );
  assert.ok(
    parts.every((part) => part.hour.length > 0 && part.hour.length < groups.length),
    parts.map((part) => part.hour.length).join(', '),
  );
  assert.deepEqual(plain(parts.flatMap((part) => part.hour)), plain(groups));
  const byKey = (list: WindowGroup[]) => [...list].sort((a, b) => (a.urlKey + a.country < b.urlKey + b.country ? -1 : 1));
  assert.deepEqual(byKey(parts.flatMap((part) => part.day)), byKey(dayGroups));
  assert.deepEqual(new Set(parts.flatMap((part) => [...(part.marks ?? [])])), await state.readDayMarks(day));
  for (const part of parts) {
    assert.deepEqual(
      new Set(part.hour.map((g) => JSON.stringify([g.urlKey, g.country]))),
      part.marks,
      'an hour slice and a marks slice hold the same groups',
    );
  }

  // One slice recomputed: one of its groups left, another changed; the other slices' groups stay.
  const [first] = parts;
  assert.ok(first !== undefined && first.hour.length >= 2);
  const [gone, changed, ...kept] = first.hour;
  assert.ok(gone !== undefined && changed !== undefined);
  const next = [{ ...changed, clicks: changed.clicks + 5 }, ...kept];
  await state.replaceHour(hour, next, first.hour, nextFence());
  const expected = groups
    .filter((g) => g.urlKey !== gone.urlKey)
    .map((g) => (g.urlKey === changed.urlKey ? { ...g, clicks: g.clicks + 5 } : g));
  assert.deepEqual(plain(await state.readHour(hour)), plain(expected));
});

test('when users are added to an all-time set, then only new ones count, replays count nobody twice, and the count is one stored number', async () => {
  const group = { urlKey: '/all', country: 'FR' };
  assert.equal(await state.countAllTimeUsers(group), 0);
  assert.equal(await addAllTimeUsers(state, group, new Set(['u1', 'u2']), nextFence()), 2);
  assert.equal(await addAllTimeUsers(state, group, new Set(['u2', 'u3']), nextFence()), 3);
  assert.equal(await addAllTimeUsers(state, group, new Set(['u1', 'u2', 'u3']), nextFence()), 3, 'a replay adds nobody');
  assert.equal(await addAllTimeUsers(state, group, new Set(), nextFence()), 3);
  const many = new Set(Array.from({ length: 3_000 }, (_, i) => `user-${i}-${'x'.repeat(200)}`));
  assert.equal(await addAllTimeUsers(state, group, many, nextFence()), 3_003, 'several batches, one count');
  assert.equal(await state.countAllTimeUsers(group), 3_003);
  assert.equal(await state.countAllTimeUsers({ urlKey: '/all', country: 'DE' }), 0);
});

test('when the writer gives the whole stored set, then the users are checked against it, not looked up', async () => {
  const group = { urlKey: '/known', country: 'FR' };
  const first = new Set(['u1', 'u2']);
  assert.equal(await addAllTimeUsers(state, group, first, nextFence(), { count: 0, users: new Set() }), 2);
  // The set given is trusted: 'ghost' counts as stored (it is not), 'u3' is added.
  assert.equal(
    await addAllTimeUsers(state, group, new Set(['u2', 'u3', 'ghost']), nextFence(), { count: 2, users: new Set([...first, 'ghost']) }),
    3,
  );
  assert.equal(await state.countAllTimeUsers(group), 3);
  assert.equal(await addAllTimeUsers(state, group, new Set(['ghost', 'u3']), nextFence()), 4, 'looked up: ghost was never stored, u3 was');
});

/**
 * The client, with `land` run once just before the `nth` request whose query matches `query`: a
 * write of an earlier attempt that timed out landing while a later one reads (a paused
 * coordinator that resumes, or a replica that had it alone).
 */
function landingBefore(query: RegExp, nth: number, land: () => Promise<unknown>): CassandraClient {
  let seen = 0;
  const driver = new Proxy(client.driver, {
    get(target, property) {
      if (property === 'execute')
        return async (...args: Parameters<typeof target.execute>) => {
          if (query.test(args[0]) && (seen += 1) === nth) await land();
          return target.execute(...args);
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ...client, driver };
}

/** What an attempt writes for a group's new users: their rows and the new count, one mutation at `at`. */
function allTimeUsersWrite(group: { urlKey: string; country: string }, userIds: string[], count: number, at: unknown) {
  return client.driver.batch(
    [
      ...userIds.map((userId) => ({
        query: `INSERT INTO ${keyspace}.group_users (url_key, country, user_id) VALUES (?, ?, ?) USING TIMESTAMP ?`,
        params: [group.urlKey, group.country, userId, at],
      })),
      {
        query: `INSERT INTO ${keyspace}.group_users (url_key, country, user_id, users) VALUES (?, ?, '', ?) USING TIMESTAMP ?`,
        params: [group.urlKey, group.country, count, at],
      },
    ],
    { prepare: true, logged: false },
  );
}

/** The users a group's all-time set holds, by its rows (the count row aside). */
async function storedUserRows(group: { urlKey: string; country: string }): Promise<number> {
  const found = await client.driver.execute(`SELECT user_id FROM ${keyspace}.group_users WHERE url_key = ? AND country = ?`, [
    group.urlKey,
    group.country,
  ]);
  return found.rows.filter((row) => row.get('user_id') !== '').length;
}

test("when an earlier attempt's users land while a retry reads the set, then the count still equals the users stored", async () => {
  // Seen on the 3-node cluster with a node paused: the retry read the count before the late write
  // and the users after it, so it added nobody and kept the old count; the next day's users then
  // stored a count 2 short of the set for good.
  const group = { urlKey: '/late', country: 'BE' };
  const fence = nextFence();
  assert.equal(await addAllTimeUsers(state, group, new Set(['u1']), fence), 1);
  const lateAt = fence.nextTimestamp();
  const retrying = createAggregatorStateRepository(
    landingBefore(/SELECT user_id\b.* FROM \S+\.group_users /, 1, () => allTimeUsersWrite(group, ['u2', 'u3'], 3, lateAt)),
    { concurrency: 8 },
  );
  const count = await addAllTimeUsers(retrying, group, new Set(['u2', 'u3']), fence);
  assert.equal(count, 3, 'the late users counted once');
  assert.equal(await addAllTimeUsers(state, group, new Set(['u4']), fence, { count }), 4);
  assert.deepEqual([await state.countAllTimeUsers(group), await storedUserRows(group)], [4, 4]);
});

test('when an earlier attempt lands between two chunks of a lookup, then the set is read again and the count equals the users stored', async () => {
  const group = { urlKey: '/late-chunks', country: 'BE' };
  const fence = nextFence();
  assert.equal(await addAllTimeUsers(state, group, new Set(['first']), fence), 1);
  // 600 candidates: two lookup chunks; the late write holds 10 of the second chunk's.
  const candidates = Array.from({ length: 600 }, (_, i) => `c${String(i).padStart(3, '0')}`);
  const lateAt = fence.nextTimestamp();
  const retrying = createAggregatorStateRepository(
    landingBefore(/SELECT user_id\b.* FROM \S+\.group_users /, 2, () => allTimeUsersWrite(group, candidates.slice(550, 560), 11, lateAt)),
    { concurrency: 8 },
  );
  assert.equal(await addAllTimeUsers(retrying, group, new Set(candidates), fence), 601);
  assert.deepEqual([await state.countAllTimeUsers(group), await storedUserRows(group)], [601, 601]);
});

test('when many groups add users at once, then their writes share batches and every group keeps its own exact count', async () => {
  const groups = Array.from({ length: 40 }, (_, i) => ({ urlKey: '/together', country: `G${i}` }));
  const usersOf = (i: number) => new Set(Array.from({ length: 1 + (i % 5) }, (_, u) => `u${u}`));
  const counts = await Promise.all(groups.map((group, i) => addAllTimeUsers(state, group, usersOf(i), nextFence())));
  assert.deepEqual(
    counts,
    groups.map((_, i) => usersOf(i).size),
  );
  // Again, with one user more each: the replayed users count nobody twice.
  await Promise.all(groups.map((group, i) => addAllTimeUsers(state, group, new Set([...usersOf(i), 'late']), nextFence())));
  const stored = await state.countAllTimeUsersOf(groups);
  assert.deepEqual(
    groups.map((group) => stored.get(JSON.stringify([group.urlKey, group.country]))),
    groups.map((_, i) => usersOf(i).size + 1),
  );
});

test('when the counts of many groups are read at once, then each group has its own, 0 for a group never counted', async () => {
  // 150 countries of one url (more than one request's list), every third one counted; another url; a repeat.
  const countries = Array.from({ length: 150 }, (_, i) => `C${i}`);
  for (const [i, country] of countries.entries())
    if (i % 3 === 0)
      await addAllTimeUsers(
        state,
        { urlKey: '/many', country },
        new Set(Array.from({ length: 1 + (i % 7) }, (_, u) => `u${u}`)),
        nextFence(),
      );
  await addAllTimeUsers(state, { urlKey: '/other', country: 'C0' }, new Set(['x', 'y']), nextFence());
  const groups = [
    ...countries.map((country) => ({ urlKey: '/many', country })),
    { urlKey: '/other', country: 'C0' },
    { urlKey: '/other', country: 'C1' },
    { urlKey: '/many', country: 'C0' },
  ];
  const counts = await state.countAllTimeUsersOf(groups);
  const wanted = new Map(groups.map((group) => [JSON.stringify([group.urlKey, group.country]), 0]));
  for (const [i, country] of countries.entries()) if (i % 3 === 0) wanted.set(JSON.stringify(['/many', country]), 1 + (i % 7));
  wanted.set(JSON.stringify(['/other', 'C0']), 2);
  assert.deepEqual(counts, wanted);
  assert.deepEqual(await state.countAllTimeUsersOf([]), new Map());
});

test('when a day is replaced, then its groups follow and a group that left is removed', async () => {
  const day = (urlKey: string, clicks: number): WindowGroup => ({
    urlKey,
    country: 'FR',
    clicks,
    timeSpentSumMs: 10 * clicks,
    timeSpentSamples: clicks,
    uniqueUsers: 1,
  });
  await state.replaceDay(DAY, [day('/a', 3), day('/b', 4)], await state.readDay(DAY), nextFence());
  assert.deepEqual(await state.readDay(DAY), [day('/a', 3), day('/b', 4)]);
  await state.replaceDay(DAY, [day('/a', 5)], await state.readDay(DAY), nextFence());
  assert.deepEqual(await state.readDay(DAY), [day('/a', 5)]);
});

test("when a group's day totals are set and deleted with its sums, then it reads back the sums and the days asked for, never the others", async () => {
  const group = { urlKey: '/totals', country: 'FR' };
  const totals = (clicks: number) => ({ ...group, clicks, timeSpentSumMs: 10 * clicks, timeSpentSamples: clicks });
  const day2 = DAY + 86_400_000;
  assert.deepEqual(await state.readGroupTotals(group, [DAY]), { allTime: NO_DAYS, days: [] }, 'a group with nothing stored');
  await state.replaceGroupDays(
    group,
    [
      { dayMs: day2, totals: totals(7) },
      { dayMs: DAY, totals: totals(3) },
    ],
    { days: 2, clicks: 10, timeSpentSumMs: 100, timeSpentSamples: 10 },
    nextFence(),
  );
  const read = await state.readGroupTotals(group, [day2]);
  assert.deepEqual(read.allTime, { days: 2, clicks: 10, timeSpentSumMs: 100, timeSpentSamples: 10 });
  assert.deepEqual(read.days, [{ ...totals(7), dayMs: day2 }], 'only the day asked for');
  assert.deepEqual(await state.readGroupTotals(group, [day2], { probablyNew: true }), read, 'the same, looked for the other way round');
  assert.deepEqual(await state.readGroupTotals({ urlKey: '/none', country: 'FR' }, [day2], { probablyNew: true }), {
    allTime: NO_DAYS,
    days: [],
  });
  assert.deepEqual((await state.readGroupTotals(group, [DAY + 9 * 86_400_000])).allTime.days, 2, 'sums without any of the days asked for');

  await state.replaceGroupDays(
    group,
    [{ dayMs: DAY, totals: null }],
    { days: 1, clicks: 7, timeSpentSumMs: 70, timeSpentSamples: 7 },
    nextFence(),
  );
  assert.deepEqual(await state.readGroupTotals(group, [DAY, day2]), {
    allTime: { days: 1, clicks: 7, timeSpentSumMs: 70, timeSpentSamples: 7 },
    days: [{ ...totals(7), dayMs: day2 }],
  });
  await state.replaceGroupDays(group, [{ dayMs: day2, totals: null }], NO_DAYS, nextFence());
  assert.deepEqual(await state.readGroupTotals(group, [day2]), { allTime: NO_DAYS, days: [] }, 'no day left');

  // A stale writer (an older fence) loses both its days and its sums.
  const stale = nextFence();
  await state.replaceGroupDays(
    group,
    [{ dayMs: DAY, totals: totals(4) }],
    { days: 1, clicks: 4, timeSpentSumMs: 40, timeSpentSamples: 4 },
    nextFence(),
  );
  await state.replaceGroupDays(
    group,
    [{ dayMs: DAY, totals: totals(9) }],
    { days: 1, clicks: 9, timeSpentSumMs: 90, timeSpentSamples: 9 },
    stale,
  );
  assert.deepEqual((await state.readGroupTotals(group, [DAY])).allTime.clicks, 4);
});

describe("when a write lands between the reads of a group's totals, then the sums and the days come from one state", () => {
  const DAY2 = DAY + 86_400_000;
  const totals = (group: GroupRef, clicks: number) => ({ ...group, clicks, timeSpentSumMs: 10 * clicks, timeSpentSamples: clicks });
  const sums = (days: number, clicks: number) => ({ days, clicks, timeSpentSumMs: 10 * clicks, timeSpentSamples: clicks });
  const DAYS_READ = /FROM \S+\.day_totals WHERE .*\bday IN\b/;
  const HEAD_READ = /FROM \S+\.day_totals WHERE url_key = \? AND country = \? LIMIT 1$/;

  test('a day added right before the days are read, for a group taken as new', async () => {
    const group = { urlKey: '/totals-late-add', country: 'FR' };
    await state.replaceGroupDays(group, [{ dayMs: DAY, totals: totals(group, 3) }], sums(1, 3), nextFence());
    const late = () => state.replaceGroupDays(group, [{ dayMs: DAY2, totals: totals(group, 7) }], sums(2, 10), nextFence());
    const reading = createAggregatorStateRepository(landingBefore(DAYS_READ, 1, late), { concurrency: 8 });
    assert.deepEqual(await reading.readGroupTotals(group, [DAY2], { probablyNew: true }), {
      allTime: sums(2, 10),
      days: [{ ...totals(group, 7), dayMs: DAY2 }],
    });
  });

  test('a day deleted right before the days are read, for a group taken as new', async () => {
    const group = { urlKey: '/totals-late-delete', country: 'FR' };
    await state.replaceGroupDays(
      group,
      [
        { dayMs: DAY, totals: totals(group, 3) },
        { dayMs: DAY2, totals: totals(group, 7) },
      ],
      sums(2, 10),
      nextFence(),
    );
    const late = () => state.replaceGroupDays(group, [{ dayMs: DAY2, totals: null }], sums(1, 3), nextFence());
    const reading = createAggregatorStateRepository(landingBefore(DAYS_READ, 1, late), { concurrency: 8 });
    assert.deepEqual(await reading.readGroupTotals(group, [DAY2], { probablyNew: true }), { allTime: sums(1, 3), days: [] });
  });

  test('a day added after none of the days was found, before the sums are read', async () => {
    const group = { urlKey: '/totals-late-head', country: 'FR' };
    await state.replaceGroupDays(group, [{ dayMs: DAY, totals: totals(group, 3) }], sums(1, 3), nextFence());
    const late = () => state.replaceGroupDays(group, [{ dayMs: DAY2, totals: totals(group, 7) }], sums(2, 10), nextFence());
    const reading = createAggregatorStateRepository(landingBefore(HEAD_READ, 1, late), { concurrency: 8 });
    assert.deepEqual(await reading.readGroupTotals(group, [DAY2]), {
      allTime: sums(2, 10),
      days: [{ ...totals(group, 7), dayMs: DAY2 }],
    });
  });

  test('a day added between two chunks of the days read', async () => {
    const group = { urlKey: '/totals-late-chunk', country: 'FR' };
    // More days asked for than one read holds: the late write adds a day of the second read.
    const asked = Array.from({ length: 600 }, (_, i) => DAY + i * 86_400_000);
    await state.replaceGroupDays(group, [{ dayMs: DAY, totals: totals(group, 3) }], sums(1, 3), nextFence());
    const lastDay = asked.at(-1) ?? DAY;
    const late = () => state.replaceGroupDays(group, [{ dayMs: lastDay, totals: totals(group, 7) }], sums(2, 10), nextFence());
    const reading = createAggregatorStateRepository(landingBefore(DAYS_READ, 2, late), { concurrency: 8 });
    assert.deepEqual(await reading.readGroupTotals(group, asked), {
      allTime: sums(2, 10),
      days: [
        { ...totals(group, 3), dayMs: DAY },
        { ...totals(group, 7), dayMs: lastDay },
      ],
    });
  });
});

test('when day totals were stored without sums (an earlier version), then the sums are summed from every day, once', async () => {
  const group = { urlKey: '/legacy', country: 'FR' };
  for (const [offset, clicks] of [
    [0, 2],
    [1, 5],
    [30, 11],
  ] as const)
    await client.driver.execute(
      `INSERT INTO ${keyspace}.day_totals (url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples) VALUES (?, ?, ?, ?, ?, ?)`,
      [group.urlKey, group.country, new Date(DAY + offset * 86_400_000), clicks, clicks * 100, clicks],
      { prepare: true },
    );
  const summed = { days: 3, clicks: 18, timeSpentSumMs: 1_800, timeSpentSamples: 18 };
  assert.deepEqual((await state.readGroupTotals(group, [DAY + 86_400_000])).allTime, summed, 'with one of the days asked for');
  assert.deepEqual((await state.readGroupTotals(group, [DAY + 7 * 86_400_000])).allTime, summed, 'with none of them');
  assert.deepEqual((await state.readGroupTotals(group, [DAY], { probablyNew: true })).allTime, summed, 'when taken for a new group');
  await state.replaceGroupDays(
    group,
    [{ dayMs: DAY, totals: { ...group, clicks: 3, timeSpentSumMs: 300, timeSpentSamples: 3 } }],
    { days: 3, clicks: 19, timeSpentSumMs: 1_900, timeSpentSamples: 19 },
    nextFence(),
  );
  assert.deepEqual((await state.readGroupTotals(group, [])).allTime.clicks, 19, 'stored from then on');
  assert.deepEqual((await state.readGroupTotals(group, [], { resum: true })).allTime.clicks, 19, 'summed again on request');
});

test('when a group changes more days than one batch holds, then the days and the sums all land', async () => {
  const group = { urlKey: '/many-days', country: 'FR' };
  const days = Array.from({ length: 400 }, (_, i) => ({
    dayMs: DAY + i * 86_400_000,
    totals: { ...group, clicks: i + 1, timeSpentSumMs: 0, timeSpentSamples: 0 },
  }));
  const sums = { days: 400, clicks: (400 * 401) / 2, timeSpentSumMs: 0, timeSpentSamples: 0 };
  await state.replaceGroupDays(group, days, sums, nextFence());
  const read = await state.readGroupTotals(
    group,
    days.map((day) => day.dayMs),
  );
  assert.deepEqual(read.allTime, sums);
  assert.equal(read.days.length, 400);
  assert.deepEqual((await state.readGroupTotals(group, [], { resum: true })).allTime, sums, 'the sums equal the days');
});

test('when an hour group holds more users than one chunk, then they are stored in chunks and read back whole; shrinking drops the extra chunks', async () => {
  const hour = HOUR + 5 * 3_600_000;
  const big = hourGroup(
    '/big',
    'FR',
    Array.from({ length: 5_000 }, (_, i) => `user-${i}-"quoted"-\\-中`),
  );
  await state.replaceHour(hour, [big], await state.readHour(hour), nextFence());
  const chunks = await client.driver.execute(`SELECT chunk FROM ${keyspace}.hour_user_sets WHERE hour = ?`, [new Date(hour)], {
    prepare: true,
  });
  assert.ok(chunks.rows.length > 3, `${chunks.rows.length} chunks`);
  assert.deepEqual(plain(await state.readHour(hour)), plain([big]));
  const small = hourGroup('/big', 'FR', ['u1'], 5_000);
  await state.replaceHour(hour, [small], await state.readHour(hour), nextFence());
  assert.deepEqual(plain(await state.readHour(hour)), plain([small]));
});

test('when a replica with an older fence rewrites what a newer one wrote, then its updates and deletes lose', async () => {
  const older = nextFence();
  const newer = nextFence();
  const hour = HOUR + 3_600_000;
  const current = [hourGroup('/a', 'FR', ['u1', 'u2']), hourGroup('/b', 'US', ['u3'])];
  await state.replaceHour(hour, current, [], newer);
  await state.replaceHour(hour, [hourGroup('/a', 'FR', ['u1'], 7)], await state.readHour(hour), older);
  assert.deepEqual(plain(await state.readHour(hour)), plain(current), 'no changed total, removed user or removed group applies');
  const group = { urlKey: '/fenced', country: 'FR' };
  await addAllTimeUsers(state, group, new Set(['u1', 'u2']), newer);
  await client.driver.execute(`UPDATE ${keyspace}.group_users USING TIMESTAMP ? SET users = 1 WHERE url_key = ? AND country = ?`, [
    older.nextTimestamp(),
    group.urlKey,
    group.country,
  ]);
  assert.equal(await state.countAllTimeUsers(group), 2);
});

test('when windows are marked open and then final, then only the ones still open are listed', async () => {
  await state.markOpen(
    [
      { granularity: 'hour', windowStartMs: HOUR },
      { granularity: 'day', windowStartMs: DAY },
    ],
    nextFence(),
  );
  await state.markFinal([{ granularity: 'hour', windowStartMs: HOUR }], nextFence());
  assert.deepEqual(await state.listOpenWindows(), [{ granularity: 'day', windowStartMs: DAY }]);
});

test('when groups of a day are marked around the day being marked stored, then only those marked after it are read back, and a fenced-off writer cannot move the day forward', async () => {
  const day = DAY + 20 * 86_400_000;
  assert.equal(await state.readDayMarks(day), undefined, 'a day never marked stored: nothing known');
  await state.markDayGroups(day, [{ urlKey: '/before', country: 'FR' }], nextFence());
  assert.equal(await state.readDayMarks(day), undefined, 'marks alone say nothing without a stored day');
  await state.markDayRolledUp(day, nextFence());
  assert.deepEqual(await state.readDayMarks(day), new Set(), 'the mark before the day was stored is done with');

  const stale = nextFence();
  const current = nextFence();
  await state.markDayGroups(
    day,
    [
      { urlKey: '/a', country: 'FR' },
      { urlKey: 'with "quotes", commas', country: '' },
    ],
    current,
  );
  assert.deepEqual(await state.readDayMarks(day), new Set(['["/a","FR"]', '["with \\"quotes\\", commas",""]']));
  // A replica that lost its lease (an older token) marks the day stored after the new holder marked groups: it does not count.
  await state.markDayRolledUp(day, stale);
  assert.deepEqual(await state.readDayMarks(day), new Set(['["/a","FR"]', '["with \\"quotes\\", commas",""]']));
  await state.markDayRolledUp(day, current);
  assert.deepEqual(await state.readDayMarks(day), new Set());
  // Marked again by a later run (which then died): read back, once.
  await state.markDayGroups(day, [{ urlKey: '/a', country: 'FR' }], nextFence());
  assert.deepEqual(await state.readDayMarks(day), new Set(['["/a","FR"]']));
});

test('when every all-time user of a group has expired (per-user state TTL), then counting its users reads no tombstones and keeps the count', async () => {
  // Per-user rows expire by their TTL; the stored count does not. A count read that walked the
  // expired rows to find the count would pay one tombstone per user the group ever had, and past
  // tombstone_failure_threshold (100,000 by default) fail every run that touches the group.
  const expiring = createAggregatorStateRepository(client, { concurrency: 8, userStateTtlSeconds: 1 });
  const group = { urlKey: '/expired-users', country: 'FR' };
  const users = Array.from({ length: 1_500 }, (_, i) => `user-${i}`);
  assert.equal(await addAllTimeUsers(expiring, group, new Set(users), nextFence()), 1_500);
  const lookup = async (): Promise<number> =>
    (
      await client.driver.execute(`SELECT user_id FROM ${keyspace}.group_users WHERE url_key = ? AND country = ? AND user_id IN ?`, [
        group.urlKey,
        group.country,
        users.slice(0, 5),
      ])
    ).rows.length;
  assert.equal(await pollUntil(lookup, (found) => found === 0, 10_000), 0, 'the user rows expired');
  const warnings: string[] = [];
  const onLog = (level: string, _className: string, message: string): void => {
    if (level === 'warning' && message.includes('tombstone')) warnings.push(message);
  };
  client.driver.on('log', onLog);
  try {
    assert.equal(await expiring.countAllTimeUsers(group), 1_500);
    assert.deepEqual(
      await expiring.countAllTimeUsersOf([group, { urlKey: group.urlKey, country: 'US' }]),
      new Map([
        ['["/expired-users","FR"]', 1_500],
        ['["/expired-users","US"]', 0],
      ]),
    );
  } finally {
    client.driver.off('log', onLog);
  }
  assert.deepEqual(warnings, [], 'the count read skipped no expired user rows');
  // A user whose row expired is counted again (the documented consequence of the retention).
  assert.equal(await addAllTimeUsers(expiring, group, new Set(['user-1']), nextFence()), 1_501);
});
