import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWriteFence } from '@clickstream/cassandra';
import { HOUR_MS, hoursAffectedBy, metricDocumentId } from '@clickstream/metrics';
import type { MetricEvent } from '@clickstream/metrics';
import { movedSums } from './all-time-documents.ts';
import { runAggregation } from './aggregation-run.ts';
import { hourChains } from './hour-reads.ts';
import { WRITES_PER_INDEX_CALL } from './run-context.ts';
import type { AggregationDependencies } from './run-context.ts';
import type { LeaseGrant } from './run-lease.ts';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { fakeAggregationStore, silentLogger } from './test-fakes.ts';

const HOUR = Date.UTC(2024, 2, 10, 10);
const NOW = HOUR + 10 * 24 * HOUR_MS;

function click(eventId: string, userId: string, urlKey: string, minute: number): MetricEvent {
  return { eventId, userId, sessionId: null, eventTimeMs: HOUR + minute * 60_000, urlKey, country: 'FR', timeSpentMs: 1_000, isBot: false };
}

/**
 * A run over two clicks of /a, then a late click of another user in the same hour, its stored
 * events gone: `mark()` marks the late click; `before` holds the documents of the first run.
 */
async function lateEventAfterARun() {
  const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/a', 2)];
  const { store, deps, grant, mark } = setUp(events);
  await mark(events);
  await runAggregation(deps, grant());
  const before = documentsOf(store);
  events.splice(0, events.length, click('l1', 'u9', '/a', 3));
  return { store, deps, grant, before, mark: () => mark(events) };
}

function setUp(events: MetricEvent[], maxEventsInMemory = 300_000, maxGroupsInMemory = 100_000, pageGroups?: number) {
  const store = fakeAggregationStore(events, pageGroups === undefined ? {} : { pageGroups });
  const deps: AggregationDependencies = {
    events: store.events,
    pendingHours: store.pendingHours,
    state: store.state,
    indexer: store.indexer,
    metricsIndex: store.metricsIndex,
    allowedLatenessMs: 600_000,
    eventsRetentionMs: 0,
    maxEventsInMemory,
    maxGroupsInMemory,
    hourConcurrency: 2,
    groupConcurrency: 4,
    newGroupUsersHeld: 1_000,
    bulkSize: 10,
    retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    now: () => NOW,
    logger: silentLogger,
  };
  let token = 0;
  const grant = (signal = new AbortController().signal): LeaseGrant => ({ signal, token: (token += 1) });
  const mark = (added: readonly MetricEvent[]) => store.pendingHours.mark(added.flatMap((e) => hoursAffectedBy(e.eventTimeMs)));
  return { store, deps, grant, mark };
}

const indexedIds = (writes: readonly { action: string; id: string }[]): string[] =>
  writes.filter((w) => w.action === 'index').map((w) => w.id);

type Store = ReturnType<typeof fakeAggregationStore>;

/** Every document a store holds, without its `updated_at`, in id order. */
const documentsOf = (store: Store) =>
  [...store.documents.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document, updated_at: null } : null]).sort();

/** Asserts the store's documents equal those of one run over all `events` at once on a fresh store. */
async function assertSameAsOneRun(store: Store, events: MetricEvent[]): Promise<void> {
  const once = setUp(events);
  await once.mark(events);
  await runAggregation(once.deps, once.grant());
  assert.deepEqual(documentsOf(store), documentsOf(once.store));
}

/** A store that has run once over `early`, then got `late` stored and marked (not run yet); `events` holds both. */
async function runThenAdd(early: readonly MetricEvent[], late: readonly MetricEvent[]) {
  const events = [...early];
  const setup = setUp(events);
  await setup.mark(early);
  await runAggregation(setup.deps, setup.grant());
  events.push(...late);
  await setup.mark(late);
  return { ...setup, events };
}

/** The store's state, showing `observe` every all-time add the run plans (the group, its users, and what the run knew of the stored set) before the store handles it. */
function observingAllTimeAdds(store: Store, observe: (...args: Parameters<Store['state']['planAllTimeUsers']>) => void): Store['state'] {
  return {
    ...store.state,
    planAllTimeUsers: (...args) => {
      observe(...args);
      return store.state.planAllTimeUsers(...args);
    },
  };
}

/** The store's state, recording the groups of every read of stored hours limited to some groups (the roll-up's reads), sorted. */
function recordingRollUpReads(store: Store) {
  const filters: string[][] = [];
  const state = {
    ...store.state,
    readHour: (hourMs: number, onlyGroups?: ReadonlySet<string>) => {
      if (onlyGroups !== undefined) filters.push([...onlyGroups].sort());
      return store.state.readHour(hourMs, onlyGroups);
    },
  };
  return { state, filters };
}

/** An indexer that fails like a killed process when it reaches the day documents (the hours' documents and state are stored by then). */
const dyingAtDayDocuments = (store: Store) => ({
  ...store.indexer,
  write: async (...args: Parameters<Store['indexer']['write']>) => {
    if (args[0].some((w) => w.action === 'index' && w.document.granularity !== 'hour')) throw new Error('killed');
    return store.indexer.write(...args);
  },
});

await test('runAggregation', async (t) => {
  await t.test(
    'when hours are pending, then documents go before the state they come from, all-time before the days, and the release is last',
    async () => {
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/a', 2), click('e3', 'u1', '/b', 3)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      // One hour at a time, so that the log has one order to compare with.
      const summary = await runAggregation({ ...deps, hourConcurrency: 1 }, grant());
      assert.deepEqual(
        { hours: summary.hours, days: summary.days, allTimeGroups: summary.allTimeGroups, indexed: summary.indexed },
        { hours: 2, days: 1, allTimeGroups: 2, indexed: 6 },
      );
      const order = store.log.filter((line, i, all) => all.indexOf(line) === i);
      assert.deepEqual([...order].sort(), [
        'all-time users /a',
        'all-time users /b',
        'index all',
        'index day',
        'index hour',
        'release 2',
        'state day 2024-03-10T00',
        'state day totals /a',
        'state day totals /b',
        'state hour 2024-03-10T09',
        'state hour 2024-03-10T10',
      ]);
      // The hours are stored while the day is rolled up: only these orders are fixed.
      const before = (first: string, then: string): void =>
        assert.ok(order.indexOf(first) < order.indexOf(then), `${first} before ${then}: ${order.join(', ')}`);
      for (const hour of ['state hour 2024-03-10T09', 'state hour 2024-03-10T10']) {
        before('all-time users /a', hour);
        before('all-time users /b', hour);
        before('index hour', hour);
      }
      before('index day', 'index all');
      before('index all', 'state day totals /a');
      before('index all', 'state day totals /b');
      before('state day totals /b', 'state day 2024-03-10T00');
      assert.equal(order.at(-1), 'release 2');
      const allTime = [...store.documents.values()].flatMap((w) =>
        w.action === 'index' && w.document.granularity === 'all' ? [w.document] : [],
      );
      assert.deepEqual(allTime.map((d) => [d.url, d.clicks, d.unique_users]).sort(), [
        ['/a', 2, 2],
        ['/b', 1, 1],
      ]);
    },
  );

  await t.test('when an hour is pending again without new events, then the run writes no document', async () => {
    const events = [click('e1', 'u1', '/a', 1)];
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    await runAggregation(deps, grant());
    store.indexer.writes.length = 0;
    await mark(events);
    const summary = await runAggregation(deps, grant());
    assert.equal(summary.hours, 2, 'the hour and the one before (its look-ahead may have changed)');
    assert.deepEqual(store.indexer.writes, []);
  });

  await t.test(
    'when an hour holds more distinct pages than one indexer call takes, then its hour and day documents reach the indexer in bounded chunks, all of them',
    async () => {
      const pages = WRITES_PER_INDEX_CALL * 2 + 7;
      const events = Array.from({ length: pages }, (_, i) => click(`e${i}`, `u${i % 50}`, `/p/${i}`, i % 60));
      const { store, deps, grant, mark } = setUp(events);
      const calls: number[] = [];
      const write = store.indexer.write.bind(store.indexer);
      deps.indexer.write = (writes, signal) => {
        calls.push(writes.length);
        return write(writes, signal);
      };
      await mark(events);
      const summary = await runAggregation(deps, grant());
      assert.ok(calls.length > 0);
      assert.ok(Math.max(...calls) <= WRITES_PER_INDEX_CALL, `calls of ${calls.join(', ')} writes`);
      const documents = [...store.documents.values()].filter((w) => w.action === 'index');
      for (const granularity of ['hour', 'day', 'all'])
        assert.equal(documents.filter((w) => w.action === 'index' && w.document.granularity === granularity).length, pages, granularity);
      assert.equal(summary.indexed, pages * 3);
    },
  );

  await t.test('when one event is added to one group, then only that group is re-indexed (hour, day, all-time)', async () => {
    const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/b', 2), click('e3', 'u3', '/c', 3)];
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    await runAggregation(deps, grant());
    store.indexer.writes.length = 0;
    const late = click('e4', 'u9', '/b', 50);
    events.push(late);
    await mark([late]);
    const summary = await runAggregation(deps, grant());
    const reindexed = store.indexer.writes.flatMap((w) =>
      w.action === 'index' ? [`${w.document.granularity} ${w.document.url} ${w.document.unique_users}`] : [],
    );
    assert.deepEqual(reindexed, ['hour /b 2', 'day /b 2', 'all /b 2']);
    assert.equal(summary.allTimeGroups, 1);
    assert.equal(indexedIds(store.indexer.writes).length, 3);
  });

  await t.test(
    "when a stored group and a new one change, then only the stored one's all-time totals are read (a group without users has none)",
    async () => {
      const { store, deps, grant, events } = await runThenAdd(
        [click('e1', 'u1', '/a', 1), click('e4', 'u4', '/c', 2)],
        [click('e2', 'u2', '/a', 5), click('e3', 'u3', '/b', 6), click('e5', 'u5', '/c', 1_500)],
      );
      const asked: string[] = [];
      const state: typeof store.state = {
        ...store.state,
        readGroupTotals: (group, daysMs, options) => {
          asked.push(`${group.urlKey} ${options?.probablyNew}`);
          return store.state.readGroupTotals(group, daysMs, options);
        },
      };
      await runAggregation({ ...deps, state }, grant());
      // /c changes on a day it was not in (looked for as new), but has users: it is read.
      assert.deepEqual(asked.sort(), ['/a false', '/c true']);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    "when a run dies after adding a new group's users but before its day totals, then the next run reads them and the numbers stay exact",
    async () => {
      const { store, deps, grant, events } = await runThenAdd([click('e1', 'u1', '/a', 1)], [click('e2', 'u2', '/b', 5)]);
      const dying: typeof store.state = {
        ...store.state,
        replaceGroupDays: () => Promise.reject(new Error('killed')),
      };
      await assert.rejects(runAggregation({ ...deps, state: dying }, grant()), /killed/);
      assert.ok(store.log.includes('all-time users /b'), 'the users were added before the crash');
      const asked: string[] = [];
      const state: typeof store.state = {
        ...store.state,
        readGroupTotals: (group, daysMs, options) => {
          asked.push(group.urlKey);
          return store.state.readGroupTotals(group, daysMs, options);
        },
      };
      await runAggregation({ ...deps, state }, grant());
      assert.deepEqual(asked, ['/b'], 'a group with stored users is read, even when nothing else of it is stored');
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when the stored all-time sums are impossible, then they are summed again from the days and the documents stay exact',
    async () => {
      const { store, deps, grant, events } = await runThenAdd(
        [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/a', 2)],
        [click('e3', 'u3', '/a', 7)],
      );
      const resums: boolean[] = [];
      const state: typeof store.state = {
        ...store.state,
        readGroupTotals: async (group, daysMs, options) => {
          resums.push(options?.resum === true);
          const read = await store.state.readGroupTotals(group, daysMs, options);
          // Sums a lost write could leave: fewer clicks than the day holds.
          return options?.resum === true ? read : { ...read, allTime: { ...read.allTime, clicks: 1 } };
        },
      };
      const logger = capturedLogger();
      await runAggregation({ ...deps, state, logger: logger.logger }, grant());
      assert.deepEqual(resums, [false, true]);
      assert.ok(logger.lines.some((line) => line.msg === 'all-time sums inconsistent with the day totals, summed again'));
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when an hour holds more events than memory may, then it is read in slices of its users and the documents are the same',
    async () => {
      const events = Array.from({ length: 40 }, (_, i) => click(`e${i}`, `u${i % 13}`, `/p${i % 3}`, i));
      const whole = setUp(events);
      await whole.mark(events);
      await runAggregation(whole.deps, whole.grant());
      const sliced = setUp(events, 8);
      await sliced.mark(events);
      await runAggregation(sliced.deps, sliced.grant());
      assert.deepEqual(
        [...sliced.store.documents.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document } : null]).sort(),
        [...whole.store.documents.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document } : null]).sort(),
      );
      assert.ok(
        sliced.store.reads.length > whole.store.reads.length,
        `more, smaller reads: ${sliced.store.reads.join()} vs ${whole.store.reads.join()}`,
      );
      assert.ok(Math.max(...sliced.store.reads) <= 8, 'never more than 8 events held by one read');
    },
  );

  await t.test(
    'when hours aggregated in parallel are each too big to share the memory, then they hold at most the limit together and the documents are the same',
    async () => {
      // Hours 10:00 and 11:00 hold 6 events each (11:00's after its first 30 minutes, so no read sees both);
      // with 8 events allowed and 2 hours at a time, two reads of 6 at once would hold 12.
      const events = [
        ...Array.from({ length: 6 }, (_, i) => click(`a${i}`, `u${i}`, `/p${i % 2}`, i)),
        ...Array.from({ length: 6 }, (_, i) => click(`b${i}`, `u${i + 3}`, `/p${i % 2}`, 100 + i)),
      ];
      const whole = setUp(events);
      await whole.mark(events);
      await runAggregation(whole.deps, whole.grant());
      const bounded = setUp(events, 8);
      await bounded.mark(events);
      await runAggregation({ ...bounded.deps, hourConcurrency: 2 }, bounded.grant());
      assert.deepEqual(
        [...bounded.store.documents.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document } : null]).sort(),
        [...whole.store.documents.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document } : null]).sort(),
      );
      assert.ok(bounded.store.heldAtMost.peak <= 8, `reads in flight could hold ${bounded.store.heldAtMost.peak} events at once`);
      assert.ok(Math.max(...bounded.store.reads) <= 8);
    },
  );

  await t.test(
    'when consecutive hours are pending, then each hour is read once and its first half serves as the look-ahead of the hour before, with the same documents as hours run one by one',
    async () => {
      // No time spent of their own: each click's comes from the next one, across hour ends; e9 is a
      // second copy of e8 in the next hour (the earlier copy counts); u3 ends its session at 12:59.
      const bare = (eventId: string, userId: string, minute: number, sessionId: string | null = null): MetricEvent => ({
        ...click(eventId, userId, `/p${minute % 3}`, minute),
        sessionId,
        timeSpentMs: null,
      });
      const events = [
        bare('e1', 'u1', 50),
        bare('e2', 'u1', 65),
        bare('e3', 'u1', 118),
        bare('e4', 'u1', 125),
        bare('e5', 'u2', 89, 's1'),
        bare('e6', 'u2', 95, 's2'),
        bare('e7', 'u3', 179),
        bare('e8', 'u4', 59),
        { ...bare('e8', 'u4', 61), urlKey: '/copy' },
        bare('e10', 'u4', 80),
        bare('e11', 'u5', 150),
        bare('e12', 'u5', 181),
      ];
      const chained = setUp(events);
      await chained.mark(events);
      await runAggregation({ ...chained.deps, hourConcurrency: 1 }, chained.grant());
      const at = (minute: number): number => HOUR + minute * 60_000;
      assert.deepEqual(
        chained.store.readRanges,
        [
          [at(180), at(270)],
          [at(120), at(180)],
          [at(60), at(120)],
          [at(0), at(60)],
        ],
        'one look-ahead read for the chain, at its latest hour',
      );

      const oneByOne = setUp(events);
      for (const hourMs of [HOUR, HOUR + HOUR_MS, HOUR + 2 * HOUR_MS, HOUR + 3 * HOUR_MS]) {
        await oneByOne.store.pendingHours.mark([hourMs]);
        await runAggregation({ ...oneByOne.deps, hourConcurrency: 1 }, oneByOne.grant());
      }
      assert.equal(oneByOne.store.readRanges.length, 4);
      assert.ok(
        oneByOne.store.readRanges.every(([fromMs, toMs]) => toMs - fromMs === HOUR_MS + 30 * 60_000),
        'each hour with its own look-ahead',
      );
      assert.deepEqual(documentsOf(chained.store), documentsOf(oneByOne.store));
      // e1 (u1, 10:50) gets 15 minutes from e2 at 11:05; e8 (u4, 10:59) 21 minutes from e10 at 11:20, its 11:01 copy not counted as next.
      const hour10 = [...chained.store.documents.values()].flatMap((w) =>
        w.action === 'index' &&
        w.document.granularity === 'hour' &&
        w.document.window_start === new Date(HOUR).toISOString() &&
        w.document.url === '/p2'
          ? [w.document]
          : [],
      );
      assert.deepEqual(
        hour10.map((d) => [d.clicks, d.time_spent_samples, d.time_spent_sum_ms]),
        [[2, 2, 36 * 60_000]],
      );
    },
  );

  await t.test(
    'when the kept look-ahead leaves the hour before too little room, then that hour is read alone with its own look-ahead and the documents are the same',
    async () => {
      // Limit 8, one reader: 11:00 holds 6 events in its first 30 minutes (kept for 10:00), 10:00 holds 4.
      const events = [
        ...Array.from({ length: 6 }, (_, i) => ({ ...click(`b${i}`, `u${i}`, '/b', 60 + i), timeSpentMs: null })),
        ...Array.from({ length: 4 }, (_, i) => ({ ...click(`a${i}`, `u${i}`, '/a', 50 + i), timeSpentMs: null })),
      ];
      const unbounded = setUp(events);
      await unbounded.mark(events);
      await runAggregation({ ...unbounded.deps, hourConcurrency: 1 }, unbounded.grant());
      const bounded = setUp(events, 8);
      await bounded.mark(events);
      await runAggregation({ ...bounded.deps, hourConcurrency: 1 }, bounded.grant());
      assert.deepEqual(documentsOf(bounded.store), documentsOf(unbounded.store));
      assert.ok(bounded.store.heldAtMost.peak <= 8, `reads could hold ${bounded.store.heldAtMost.peak} events at once`);
      assert.ok(Math.max(...bounded.store.reads) <= 8);
      assert.ok(
        bounded.store.readRanges.some(([fromMs, toMs]) => fromMs === HOUR && toMs === HOUR + HOUR_MS + 30 * 60_000),
        'hour 10:00 read again with its own look-ahead',
      );
    },
  );

  await t.test(
    'when one user alone has more events in an hour than memory may hold, then the run leaves that user out of the hour, records and says so, and completes everything else',
    async () => {
      // 'flood' has 20 events in 10:00-10:20 (so the 09:00 read, with its look-ahead, sees them too); the limit is 8.
      const others = Array.from({ length: 12 }, (_, i) => click(`o${i}`, `u${i % 5}`, `/p${i % 3}`, i * 4));
      const flood = Array.from({ length: 20 }, (_, i) => click(`f${i}`, 'flood', '/p0', i));
      const later = [click('n1', 'u1', '/p1', 24 * 60 + 5)];
      const withoutFlood = setUp([...others, ...later]);
      await withoutFlood.mark([...others, ...later]);
      await runAggregation(withoutFlood.deps, withoutFlood.grant());
      const { store, deps, grant, mark } = setUp([...others, ...flood, ...later], 8);
      await mark([...others, ...flood, ...later]);
      const { lines, logger } = capturedLogger();
      const summary = await runAggregation({ ...deps, logger }, grant());
      const documents = (documentsOf: typeof store.documents) =>
        [...documentsOf.entries()].map(([id, w]) => [id, w.action === 'index' ? { ...w.document } : null]).sort();
      assert.deepEqual(
        documents(store.documents),
        documents(withoutFlood.store.documents),
        'every other number exact, the next day included',
      );
      const excluded = lines.filter((line) => line.msg === 'user left out of an hour: more events than AGGREGATOR_MAX_EVENTS_IN_MEMORY');
      assert.deepEqual(
        excluded.map((line) => [line.hour, line.userId, line.events, line.level]),
        [
          ['2024-03-10T09:00:00.000Z', 'flood', 20, 'error'],
          ['2024-03-10T10:00:00.000Z', 'flood', 20, 'error'],
        ],
      );
      assert.equal(summary.excludedUsers, 2, 'counted once per hour');
      assert.deepEqual(
        [...store.indexer.leftOut].sort((a, b) => a.hourMs - b.hourMs),
        [Date.UTC(2024, 2, 10, 9), Date.UTC(2024, 2, 10, 10)].map((hourMs) => ({ hourMs, userId: 'flood', events: 20, limit: 8 })),
        'recorded durably, once per hour',
      );
      const firstRecord = store.log.indexOf('left out 1');
      assert.ok(firstRecord >= 0 && firstRecord < store.log.findIndex((line) => line.startsWith('index')), 'before any document');
      assert.ok(store.reads.length < 20, `a few reads, not thousands of slices: ${store.reads.length}`);
      assert.ok(Math.max(...store.reads) <= 8);
    },
  );

  await t.test(
    'when a user has few events but of long strings (2,000-character url_keys), then they weigh their memory: the user is left out like a flood, and nothing stops the run',
    async () => {
      const others = [click('o1', 'u1', '/a', 1), click('o2', 'u2', '/a', 2)];
      const heavy = Array.from({ length: 3 }, (_, i) => click(`h${i}`, 'heavy', `/${'y'.repeat(2_000)}${i}`, 10 + i));
      const { store, deps, grant, mark } = setUp([...others, ...heavy], 8);
      await mark([...others, ...heavy]);
      const summary = await runAggregation(deps, grant());
      assert.equal(
        summary.excludedUsers,
        2,
        '3 events of weight 8 each, more than the limit of 8: in their hour and the one before (its look-ahead)',
      );
      assert.deepEqual(
        store.indexer.leftOut.map((left) => [left.userId, left.events, left.limit]),
        [
          ['heavy', 24, 8],
          ['heavy', 24, 8],
        ],
      );
      const pageDocs = [...store.documents.values()].filter((w) => w.action === 'index' && w.document.url.startsWith('/y'));
      assert.deepEqual(pageDocs, [], 'none of its pages counted');
      assert.ok(Math.max(...store.reads) <= 8);
    },
  );

  await t.test(
    'when the days held reach the all-time pass limit, then the all-time documents are published in several passes with the same numbers',
    async () => {
      // Four days, groups spread over them, users returning on later days (all-time users must not double count).
      const events = Array.from({ length: 60 }, (_, i) => click(`e${i}`, `u${i % 7}`, `/p${i % 3}`, (i % 4) * 24 * 60 + i));
      const once = setUp(events);
      await once.mark(events);
      await runAggregation(once.deps, once.grant());
      const passes = setUp(events);
      await passes.mark(events);
      const summary = await runAggregation({ ...passes.deps, allTimePassDayGroups: 1 }, passes.grant());
      assert.deepEqual(documentsOf(passes.store), documentsOf(once.store));
      assert.ok(summary.allTimeGroups > 3, `all-time documents written once per pass: ${summary.allTimeGroups}`);
      const dayStores = passes.store.log.filter((line) => line.startsWith('state day 2'));
      assert.equal(dayStores.length, 4, 'every day stored');
      assert.ok(
        passes.store.log.indexOf('state day 2024-03-10T00') < passes.store.log.lastIndexOf('index hour'),
        'the first day stored before the last day was computed',
      );
    },
  );

  await t.test(
    "when late events touch some hours of a day, then the stored hours are read for those hours' groups only and every document equals a run over all events at once",
    async () => {
      // /p0 and /p2 have events only from minute 300 on (hour 5), which no late event touches.
      const early = Array.from({ length: 50 }, (_, i) =>
        click(`e${i}`, `u${i % 9}`, `/p${i % 5}`, i % 5 === 0 || i % 5 === 2 ? 300 + i : i * 4),
      );
      const late = [
        click('l1', 'u1', '/p1', 3),
        click('l2', 'u42', '/p1', 130),
        click('l3', 'u2', '/new', 200),
        click('l4', 'u3', '/p3', 10),
      ];
      const { store, deps, grant } = await runThenAdd(early, late);
      const { state, filters: storedReads } = recordingRollUpReads(store);
      await runAggregation({ ...deps, state }, grant());
      await assertSameAsOneRun(store, [...early, ...late]);
      assert.ok(storedReads.length > 0, 'stored hours were read for the roll-up');
      for (const only of storedReads) assert.ok(!only.includes('["/p0","FR"]') && !only.includes('["/p2","FR"]'), only.join());
    },
  );

  await t.test(
    'when a run dies after storing an hour but before its day and all-time documents, then the next run still writes them from the stored hour',
    async () => {
      const { store, deps, grant, events } = await runThenAdd(
        [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/b', 2)],
        [click('e3', 'u3', '/a', 40)],
      );
      await assert.rejects(runAggregation({ ...deps, indexer: dyingAtDayDocuments(store) }, grant()), /killed/);
      assert.ok(store.log.includes('state hour 2024-03-10T10'), 'the hour was stored before the crash');
      await runAggregation(deps, grant());
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when a late event changes one group of a stored day, then the roll-up reads the stored hours of that group only and marks it before storing the hour',
    async () => {
      const early = [
        click('e1', 'u1', '/a', 1),
        click('e2', 'u2', '/b', 2),
        click('e3', 'u3', '/c', 3),
        click('e4', 'u1', '/a', 130),
        click('e5', 'u2', '/b', 131),
      ];
      const { store, deps, grant, events } = await runThenAdd(early, [click('l1', 'u9', '/a', 50)]);
      const { state, filters } = recordingRollUpReads(store);
      const dayReads: string[][] = [];
      const marksBefore = store.log.length;
      await runAggregation(
        {
          ...deps,
          state: {
            ...state,
            readDay: (dayMs, onlyGroups) => {
              dayReads.push(onlyGroups === undefined ? ['(whole day)'] : 'slices' in onlyGroups ? ['(a slice)'] : [...onlyGroups].sort());
              return state.readDay(dayMs, onlyGroups);
            },
          },
        },
        grant(),
      );
      assert.ok(filters.length > 0, 'stored hours were read for the roll-up');
      assert.deepEqual([...new Set(filters.flat())], ['["/a","FR"]'], 'only the changed group, not /b or /c of the same hour');
      assert.deepEqual(dayReads, [['["/a","FR"]']], "the day's stored state of that group only");
      const after = store.log.slice(marksBefore);
      const marked = after.indexOf('mark day 2024-03-10T00 ["/a","FR"]');
      assert.ok(marked >= 0 && marked < after.indexOf('state hour 2024-03-10T10'), after.join('\n'));
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when adding all-time users is applied but reported failed, then the retry sends the same users and count again: nobody lost or counted twice',
    async () => {
      const { store, deps, grant, events } = await runThenAdd(
        [click('e1', 'u1', '/a', 1)],
        [click('e2', 'u2', '/a', 2), click('e3', 'u3', '/a', 1_500)],
      );
      let failed = 0;
      const state: typeof store.state = {
        ...store.state,
        // A write timeout after the batch was applied: the first write of the run.
        writeAllTimeUsers: async (...args) => {
          const users = await store.state.writeAllTimeUsers(...args);
          if (failed > 0) return users;
          failed += 1;
          throw Object.assign(new Error('write timeout'), { retriable: true });
        },
      };
      await runAggregation({ ...deps, state, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 } }, grant());
      assert.equal(failed, 1);
      assert.equal(await store.state.countAllTimeUsers({ urlKey: '/a', country: 'FR' }), 3);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when a group new to the all-time sets gets users on several days of a run, then later days check them against the users it added, and the count is exact',
    async () => {
      const a = { urlKey: '/a', country: 'FR' };
      // Three days of /a, users coming back on later days (day offsets 0, 1_500 and 3_000 minutes).
      const events = [
        ...['u1', 'u2'].map((user, i) => click(`d1-${i}`, user, '/a', 1 + i)),
        ...['u2', 'u3'].map((user, i) => click(`d2-${i}`, user, '/a', 1_500 + i)),
        ...['u1', 'u3', 'u4'].map((user, i) => click(`d3-${i}`, user, '/a', 3_000 + i)),
      ];
      const { store, deps, grant, mark } = setUp(events);
      const given: (readonly string[] | undefined)[] = [];
      const state = observingAllTimeAdds(store, (_group, _userIds, known) => given.push(known?.users && [...known.users].sort()));
      await mark(events);
      await runAggregation({ ...deps, state }, grant());
      assert.deepEqual(
        given,
        [[], ['u1', 'u2'], ['u1', 'u2', 'u3']],
        'each day after the first is checked against the users stored, not looked up',
      );
      assert.equal(await store.state.countAllTimeUsers(a), 4);
      const allTime = store.documents.get(metricDocumentId('all', null, '/a', 'FR'));
      assert.equal(allTime?.action === 'index' ? allTime.document.unique_users : undefined, 4);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when a run changes many groups, then their all-time counts are read together, never one group at a time', async () => {
    const inCountry = (event: MetricEvent, country: string): MetricEvent => ({ ...event, country });
    const early = [click('e1', 'u1', '/a', 1), inCountry(click('e2', 'u2', '/a', 2), 'DE'), click('e3', 'u3', '/b', 3)];
    // Then a new user on /a FR, and u2 back on /a DE: the day changes there without a new user.
    const late = [click('l1', 'u4', '/a', 4), inCountry(click('l2', 'u2', '/a', 5), 'DE')];
    const events = [...early];
    const { store, deps, grant, mark } = setUp(events);
    const reads: string[][] = [];
    const state: typeof store.state = {
      ...store.state,
      countAllTimeUsers: () => Promise.reject(new Error('one group at a time')),
      countAllTimeUsersOf: (groups) => {
        const list = [...groups];
        reads.push(list.map((group) => `${group.urlKey} ${group.country}`).sort());
        return store.state.countAllTimeUsersOf(list);
      },
    };
    await mark(early);
    await runAggregation({ ...deps, state }, grant());
    events.push(...late);
    await mark(late);
    await runAggregation({ ...deps, state }, grant());
    const nonEmpty = reads.filter((read) => read.length > 0);
    assert.deepEqual(nonEmpty, [['/a DE', '/a FR', '/b FR'], ['/a FR'], ['/a DE']], 'first run; then the new user, then the day change');
    await assertSameAsOneRun(store, events);
  });

  await t.test(
    'when a later day adds to a new group and the write is applied but reported failed, then the retry writes the same addition, not a new look-up, and nobody counts twice',
    async () => {
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u1', '/a', 1_500), click('e3', 'u2', '/a', 1_501)];
      const { store, deps, grant, mark } = setUp(events);
      const planned: boolean[] = [];
      const written: string[] = [];
      const state: typeof store.state = {
        ...store.state,
        planAllTimeUsers: (group, userIds, known) => {
          planned.push(known?.users !== undefined);
          return store.state.planAllTimeUsers(group, userIds, known);
        },
        // The second day's first attempt: stored, then a write timeout.
        writeAllTimeUsers: async (addition, fence) => {
          written.push(`${addition.before} + ${addition.fresh.join(',')}`);
          const users = await store.state.writeAllTimeUsers(addition, fence);
          if (written.length === 2) throw Object.assign(new Error('write timeout'), { retriable: true });
          return users;
        },
      };
      await mark(events);
      await runAggregation({ ...deps, state, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 } }, grant());
      assert.deepEqual(planned, [true, true], 'one plan a day, each against the users held');
      assert.deepEqual(written, ['0 + u1', '1 + u2', '1 + u2'], 'the retry sends the same addition');
      assert.equal(await store.state.countAllTimeUsers({ urlKey: '/a', country: 'FR' }), 2);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when the users held for new groups reach their limit, then the groups past it are looked up again and the counts stay exact',
    async () => {
      const events = ['/a', '/b'].flatMap((url) => [
        click(`${url}-1`, 'u1', url, 1),
        click(`${url}-2`, 'u2', url, 2),
        click(`${url}-3`, 'u1', url, 1_500),
        click(`${url}-4`, 'u3', url, 1_501),
      ]);
      const { store, deps, grant, mark } = setUp(events);
      const checked: string[] = [];
      const state = observingAllTimeAdds(store, (group, _userIds, known) => {
        if (known?.users !== undefined && known.users.size > 0) checked.push(group.urlKey);
      });
      await mark(events);
      await runAggregation({ ...deps, state, groupConcurrency: 1, newGroupUsersHeld: 3 }, grant());
      assert.deepEqual(checked, ['/a'], 'two users of /a held, /b past the limit of 3');
      for (const urlKey of ['/a', '/b']) assert.equal(await store.state.countAllTimeUsers({ urlKey, country: 'FR' }), 3, urlKey);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    "when a late event comes for an hour older than the events' retention, then its documents stay as they were and the hour is released",
    async () => {
      const { store, deps, grant, mark, before } = await lateEventAfterARun();
      // Ten days later with a five-day retention: the stored events expired.
      await mark();
      const summary = await runAggregation({ ...deps, eventsRetentionMs: 5 * 24 * HOUR_MS }, grant());
      assert.equal(summary.hours, 0);
      assert.deepEqual(documentsOf(store), before);
      assert.deepEqual((await store.pendingHours.pending()).hours, [], 'released, not pending for ever');
    },
  );

  await t.test(
    "when the events' TTL was raised after an hour's events were written, then a late event for it is recomputed only within the TTL before the raise",
    async () => {
      const DAY_S = 24 * 3_600;
      const { store, deps, grant, mark, before } = await lateEventAfterARun();
      // Written with a 5-day TTL, raised to 30 days an hour later: ten days on (NOW), these events
      // expired, though 30 days (the table's TTL now, and the configured one) would keep them.
      const retention = { ...deps, eventsRetentionMs: 30 * 24 * HOUR_MS };
      const raised = { ttlSeconds: 30 * DAY_S, raises: [{ changedAtMs: HOUR + HOUR_MS, previousTtlSeconds: 5 * DAY_S }] };
      await mark();
      const summary = await runAggregation({ ...retention, eventsTtl: () => Promise.resolve(raised) }, grant());
      assert.equal(summary.hours, 0);
      assert.deepEqual(documentsOf(store), before);
      assert.deepEqual((await store.pendingHours.pending()).hours, [], 'released, not pending for ever');
      // The same late event where the TTL was 30 days all along: recomputed.
      await mark();
      const kept = await runAggregation(
        { ...retention, eventsTtl: () => Promise.resolve({ ttlSeconds: 30 * DAY_S, raises: [] }) },
        grant(),
      );
      assert.ok(kept.hours > 0, 'recomputed within the TTL it was written with');
      // A table TTL shorter than the configured retention (the schema step not run since): the table's.
      await mark();
      const shorter = await runAggregation(
        { ...retention, eventsTtl: () => Promise.resolve({ ttlSeconds: 5 * DAY_S, raises: [] }) },
        grant(),
      );
      assert.equal(shorter.hours, 0);
    },
  );

  await t.test(
    "when the run's clock is read from the store, then the run waits for it: hours within the events' retention by that clock are recomputed",
    async () => {
      // The service's `now` asks Cassandra; this process's own clock (ahead by far more than the
      // retention here) must play no part, or the hours would be skipped and released unaggregated.
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/a', 2)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      let reads = 0;
      const storeNow = (): Promise<number> => {
        reads += 1;
        return Promise.resolve(HOUR + 3 * HOUR_MS);
      };
      const summary = await runAggregation({ ...deps, eventsRetentionMs: 2 * 24 * HOUR_MS, now: storeNow }, grant());
      assert.equal(reads, 1, 'read once per run');
      assert.equal(summary.hours, 2, 'the hour and the one before it (its look-ahead)');
      const hour = store.documents.get(metricDocumentId('hour', HOUR, '/a', 'FR'));
      const day = store.documents.get(metricDocumentId('day', HOUR - 10 * HOUR_MS, '/a', 'FR'));
      assert.equal(hour?.action === 'index' ? hour.document.clicks : undefined, 2);
      assert.equal(hour?.action === 'index' ? hour.document.final : undefined, true, 'ended 2 hours before the store time');
      assert.equal(day?.action === 'index' ? day.document.final : undefined, false, 'the day is still open at the store time');
      assert.equal(day?.action === 'index' ? day.document.updated_at : undefined, new Date(HOUR + 3 * HOUR_MS).toISOString());
    },
  );

  await t.test(
    'when a run recomputes two days and a group changes on one of them only, then its all-time numbers keep the other day',
    async () => {
      const early = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/a', 1_500), click('e3', 'u3', '/b', 1_501)];
      const { store, deps, grant, events } = await runThenAdd(early, [click('l1', 'u4', '/a', 2), click('l2', 'u5', '/b', 1_502)]);
      await runAggregation(deps, grant());
      const allTime = store.documents.get(metricDocumentId('all', null, '/a', 'FR'));
      assert.equal(allTime?.action === 'index' ? allTime.document.clicks : undefined, 3, 'both days of /a');
      await assertSameAsOneRun(store, events);
    },
  );

  // A replayed event overwrites its row: the same event id and time, here with another user.
  const withUser = (event: MetricEvent, userId: string): MetricEvent => ({ ...event, userId });

  await t.test(
    'when a group gains an all-time user and its day numbers stay the same, then its all-time document still shows the new count',
    async () => {
      // /a: day 1 {u1}; day 2 {u1, u3}: all-time 3 clicks, 2 users. Day 2's u1 click is replayed as u2:
      // day 2 keeps 2 clicks and 2 users, and the all-time users become 3 (u1 on day 1, u2, u3).
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u1', '/a', 1_500), click('e3', 'u3', '/a', 1_510)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      await runAggregation(deps, grant());
      const replayed = withUser(events[1] as MetricEvent, 'u2');
      events[1] = replayed;
      await mark([replayed]);
      await runAggregation(deps, grant());
      const allTime = store.documents.get(metricDocumentId('all', null, '/a', 'FR'));
      assert.equal(allTime?.action === 'index' ? allTime.document.unique_users : undefined, 3);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when a user leaves a group (its only click replayed under another user), then the all-time users never exceed the clicks',
    async () => {
      // The all-time set only grows: u1 stays in it after its click became u2's. Clicks bound the count.
      const events = [click('e1', 'u1', '/a', 1)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      await runAggregation(deps, grant());
      events[0] = withUser(events[0] as MetricEvent, 'u2');
      await mark(events);
      await runAggregation(deps, grant());
      events.push(click('e2', 'u3', '/a', 5));
      await mark(events);
      await runAggregation(deps, grant());
      const allTime = store.documents.get(metricDocumentId('all', null, '/a', 'FR'));
      assert.deepEqual(
        allTime?.action === 'index' ? [allTime.document.clicks, allTime.document.unique_users] : undefined,
        [2, 2],
        'u2 and u3, not u1 too',
      );
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when a late event comes to a day indexed as open that is final now, then every group of the day is re-indexed as final',
    async () => {
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/b', 2), click('e3', 'u3', '/c', 130)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      await runAggregation({ ...deps, now: () => HOUR + 4 * HOUR_MS }, grant());
      const late = click('l1', 'u9', '/a', 5);
      events.push(late);
      await mark([late]);
      store.indexer.writes.length = 0;
      await runAggregation(deps, grant());
      const days = store.indexer.writes.flatMap((w) =>
        w.action === 'index' && w.document.granularity === 'day' ? [`${w.document.url} ${w.document.final}`] : [],
      );
      assert.deepEqual(days.sort(), ['/a true', '/b true', '/c true']);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test(
    'when windows of more groups than a page turn final without new events, then every group of them is re-indexed as final, a page at a time',
    async () => {
      // Five pages and the store's pages hold 2 groups: the hour and the day are read page by page
      // (the fake refuses to give a whole day at once), as a day of 700,000 pages must be.
      const events = ['/a', '/b', '/c', '/d', '/e'].map((url, i) => click(`e${i}`, `u${i}`, url, 1 + i));
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      await runAggregation({ ...deps, now: () => HOUR + 30 * 60_000 }, grant());
      const open = (granularity: string) =>
        [...store.documents.values()].filter((w) => w.action === 'index' && w.document.granularity === granularity && !w.document.final);
      assert.equal(open('hour').length, 5, 'indexed open');
      assert.equal(open('day').length, 5, 'indexed open');
      store.indexer.writes.length = 0;
      const summary = await runAggregation(deps, grant());
      assert.equal(summary.finalised, 3, 'the hour, the one before it (its look-ahead, no groups) and the day');
      assert.equal(summary.hours, 0, 'nothing recomputed');
      assert.deepEqual([open('hour').length, open('day').length], [0, 0], 'every group final');
      assert.equal(store.indexer.writes.length, 10);
      assert.deepEqual(await store.state.listOpenWindows(), [], 'recorded final');
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when a window of many groups is finalised, then it says where it is every 100,000 groups', async () => {
    const { store, deps, grant } = setUp([], undefined, undefined, 5_000);
    const dayMs = HOUR - 10 * HOUR_MS;
    const groups = Array.from({ length: 200_001 }, (_, i) => ({
      urlKey: `/p${i}`,
      country: 'FR',
      clicks: 1,
      timeSpentSumMs: 0,
      timeSpentSamples: 0,
      uniqueUsers: 1,
    }));
    const fence = createWriteFence(1);
    await store.state.replaceDay(dayMs, groups, [], fence);
    await store.state.markOpen([{ granularity: 'day', windowStartMs: dayMs }], fence);
    // Published into this index already: nothing to index again first.
    await store.state.recordPublishedIndex(store.metricsIndex.alias, (await store.metricsIndex.identify()).uuid, fence);
    const { lines, logger } = capturedLogger();
    const summary = await runAggregation({ ...deps, logger }, grant());
    assert.equal(summary.finalised, 1);
    assert.equal(summary.indexed, 200_001);
    assert.deepEqual(
      lines
        .filter((line) => line.msg === 'aggregation progress: a window of many groups, a page at a time')
        .map((line) => [line.window, line.groups]),
      [
        ['day 2024-03-10T00:00:00.000Z', 100_000],
        ['day 2024-03-10T00:00:00.000Z', 200_000],
      ],
    );
    assert.deepEqual(await store.state.listOpenWindows(), []);
  });

  await t.test(
    'when a re-delivered event moves a click to another url and the run dies before the day, then the next run takes the old group out of the day',
    async () => {
      const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/b', 2), click('e3', 'u3', '/b', 200)];
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      await runAggregation(deps, grant());
      // The stored copy of e1 now says /c: hour 10 loses /a (stored as gone) and gains /c.
      events[0] = click('e1', 'u1', '/c', 1);
      await mark([events[0]]);
      await assert.rejects(runAggregation({ ...deps, indexer: dyingAtDayDocuments(store) }, grant()), /killed/);
      assert.ok(store.log.includes('mark day 2024-03-10T00 ["/c","FR"] ["/a","FR"]'), 'both groups marked before the hour was stored');
      await runAggregation(deps, grant());
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when the lease is lost mid-run, then the run stops before its next write and its hours stay pending', async () => {
    const events = [click('e1', 'u1', '/a', 1), click('e2', 'u2', '/b', 70)];
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    const lease = new AbortController();
    const indexer = {
      ...store.indexer,
      write: async (...args: Parameters<typeof store.indexer.write>) => {
        const written = await store.indexer.write(...args);
        lease.abort(new Error('lease lost'));
        return written;
      },
    };
    await assert.rejects(runAggregation({ ...deps, indexer, hourConcurrency: 1 }, grant(lease.signal)), /lease lost/);
    assert.deepEqual(
      store.log.filter((line) => line.startsWith('state') || line.startsWith('release')),
      [],
      "nothing stored after the first documents (the hours' documents go out before any hour's state)",
    );
    assert.equal((await store.pendingHours.pending()).hours.length, 3);
    const again = await runAggregation(deps, grant());
    assert.equal(again.hours, 3, 'the next run redoes the work');
  });

  await t.test(
    'when a run over several days dies after an all-time pass, then the days of finished passes stay done and the next run does only the rest',
    async () => {
      // Four days; the third day's events cannot be read in the first run (a backfill cut short).
      const events = Array.from({ length: 40 }, (_, i) => click(`e${i}`, `u${i % 5}`, `/p${i % 3}`, (i % 4) * 24 * 60 + 60 + i));
      const { store, deps, grant, mark } = setUp(events);
      await mark(events);
      const thirdDayMs = HOUR - 10 * HOUR_MS + 2 * 24 * HOUR_MS;
      const dyingOnThirdDay = {
        ...store.events,
        readEvents: async (...args: Parameters<typeof store.events.readEvents>) => {
          if (args[0] >= thirdDayMs) throw new Error('killed');
          return store.events.readEvents(...args);
        },
      };
      const firstDays = (await store.pendingHours.pending()).hours.filter((hour) => hour.startMs < thirdDayMs).length;
      await assert.rejects(runAggregation({ ...deps, events: dyingOnThirdDay, allTimePassDayGroups: 1 }, grant()), /killed/);
      const left = (await store.pendingHours.pending()).hours;
      assert.ok(firstDays > 0);
      assert.deepEqual(
        left.filter((hour) => hour.startMs < thirdDayMs),
        [],
        "the first two days' hours were released after their passes",
      );
      const again = await runAggregation({ ...deps, allTimePassDayGroups: 1 }, grant());
      assert.equal(again.hours, left.length, 'the next run recomputes only the hours left');
      assert.deepEqual((await store.pendingHours.pending()).hours, []);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when a run covers several days, then it logs its progress after each day; a run of one day does not', async () => {
    const days = [0, 1, 2, 3].map((day) => click(`d${day}`, 'u1', '/a', day * 24 * 60));
    const { deps, grant, mark } = setUp(days);
    await mark(days);
    const { lines, logger } = capturedLogger();
    await runAggregation({ ...deps, logger }, grant());
    const progress = lines.filter((line) => line.msg === 'aggregation progress: day done');
    assert.deepEqual(
      progress.map((line) => [line.day, line.done, line.of]),
      [
        ['2024-03-10', 1, 4],
        ['2024-03-11', 2, 4],
        ['2024-03-12', 3, 4],
        ['2024-03-13', 4, 4],
      ],
    );
    assert.deepEqual(
      progress.map((line) => line.hours),
      [2, 4, 6, 8],
      'the hours recomputed so far (each click also touches the hour before it)',
    );
    assert.ok(progress.every((line) => typeof line.elapsedMs === 'number' && typeof line.indexed === 'number'));

    const late = [click('late', 'u2', '/a', 5)];
    const next = setUp(late);
    await next.mark(late);
    const quiet = capturedLogger();
    await runAggregation({ ...next.deps, logger: quiet.logger }, next.grant());
    assert.deepEqual(
      quiet.lines.filter((line) => line.msg === 'aggregation progress: day done'),
      [],
    );
  });
});

await test('a day of more (url, country) groups than maxGroupsInMemory', async (t) => {
  /** 60 clicks of 6 users over 2 hours and 24 pages: a user's next click (its time spent) is mostly on another page. */
  const manyPages = (): MetricEvent[] => Array.from({ length: 60 }, (_, i) => click(`e${i}`, `u${i % 6}`, `/p${(i * 7) % 24}`, i * 2));
  /** The state's hour writes, recording how many groups each one held (a slice's, or a whole hour's). */
  const recordingHourWrites = (store: Store) => {
    const groupsPerWrite: number[] = [];
    const state: Store['state'] = {
      ...store.state,
      replaceHour: (hourMs, next, previous, fence) => {
        groupsPerWrite.push(next.length);
        return store.state.replaceHour(hourMs, next, previous, fence);
      },
    };
    return { state, groupsPerWrite };
  };

  await t.test(
    'when the day has more groups than the limit, then it is recomputed in slices that each hold at most the limit, and every document is exact',
    async () => {
      const events = manyPages();
      const { store, deps, grant, mark } = setUp(events, 300_000, 8);
      await mark(events);
      const { lines, logger } = capturedLogger();
      const { state, groupsPerWrite } = recordingHourWrites(store);
      const summary = await runAggregation({ ...deps, state, logger }, grant());
      const sliced = lines.filter(
        (line) => line.msg === 'day recomputed in slices of its (url, country) groups: more than AGGREGATOR_MAX_GROUPS_IN_MEMORY',
      );
      assert.equal(sliced.length > 0, true, 'the day went in slices');
      assert.ok(groupsPerWrite.length > 2, `more hour writes than hours: ${groupsPerWrite.join(', ')}`);
      assert.ok(
        groupsPerWrite.every((groups) => groups <= 8),
        `each write held at most 8 groups: ${groupsPerWrite.join(', ')}`,
      );
      assert.deepEqual(
        { hours: summary.hours, days: summary.days },
        { hours: 3, days: 1 },
        'each hour (the one before the clicks too) and the day counted once',
      );
      assert.deepEqual((await store.pendingHours.pending()).hours, []);
      await assertSameAsOneRun(store, events);

      // Late clicks to some pages: the next run slices again and only their documents change.
      const late = [click('late1', 'u1', '/p3', 5), click('late2', 'u9', '/p20', 70)];
      events.push(...late);
      await mark(late);
      store.indexer.writes.length = 0;
      await runAggregation({ ...deps, state, logger }, grant());
      const changed = new Set(indexedIds(store.indexer.writes));
      assert.ok(
        changed.size > 0 && changed.size <= 8,
        `only the late groups' documents (and time spent of the clicks before them): ${changed.size}`,
      );
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when a slice is still too big, then only that slice is split in 4, and every document is exact', async () => {
    const events = manyPages();
    const { store, deps, grant, mark } = setUp(events, 300_000, 3);
    await mark(events);
    const { lines, logger } = capturedLogger();
    const { state, groupsPerWrite } = recordingHourWrites(store);
    await runAggregation({ ...deps, state, logger }, grant());
    const done = lines.filter((line) => line.msg === 'aggregation progress: a slice of a day done').map((line) => String(line.slice));
    assert.ok(
      done.some((slice) => slice.endsWith('/16')),
      `split slices: ${done.join(', ')}`,
    );
    assert.equal(new Set(done).size, done.length, 'no slice done twice');
    assert.ok(
      groupsPerWrite.every((groups) => groups <= 3),
      `each write held at most 3 groups: ${groupsPerWrite.join(', ')}`,
    );
    await assertSameAsOneRun(store, events);
  });

  await t.test('when url_keys are long, then each group weighs more: a day of few such groups goes in slices, exact', async () => {
    const long = (n: number): string => `/${n}/${'x'.repeat(1_500)}`;
    const events = Array.from({ length: 12 }, (_, i) => click(`e${i}`, `u${i % 3}`, long(i % 6), i * 3));
    const { store, deps, grant, mark } = setUp(events, 300_000, 20);
    await mark(events);
    const { lines, logger } = capturedLogger();
    await runAggregation({ ...deps, logger }, grant());
    assert.ok(
      lines.some((line) => line.msg === 'day recomputed in slices of its (url, country) groups: more than AGGREGATOR_MAX_GROUPS_IN_MEMORY'),
      '6 groups of 1,500-character keys weigh more than 20',
    );
    await assertSameAsOneRun(store, events);
  });

  await t.test(
    'when a day in slices holds a user left out of an hour, then the user is said and counted once, not once per slice',
    async () => {
      const flood = Array.from({ length: 40 }, (_, i) => click(`f${i}`, 'flood', '/flood', 31 + i / 4));
      const events = [...manyPages(), ...flood];
      const { store, deps, grant, mark } = setUp(events, 30, 8);
      await mark(events);
      const { lines, logger } = capturedLogger();
      const summary = await runAggregation({ ...deps, logger }, grant());
      assert.ok(lines.some((line) => line.msg === 'aggregation progress: a slice of a day done'));
      const said = lines.filter((line) => line.msg === 'user left out of an hour: more events than AGGREGATOR_MAX_EVENTS_IN_MEMORY');
      assert.deepEqual(
        said.map((line) => [line.hour, line.userId]),
        [['2024-03-10T10:00:00.000Z', 'flood']],
      );
      assert.equal(summary.excludedUsers, 1);
      assert.ok(store.indexer.leftOut.length >= 1 && store.indexer.leftOut.every((left) => left.userId === 'flood'));
    },
  );

  await t.test(
    'when windows turn final during a sliced run, then every group of them is indexed as final and they are recorded final after the last slice',
    async () => {
      const events = manyPages();
      const { store, deps, grant, mark } = setUp(events, 300_000, 8);
      await mark(events);
      await runAggregation({ ...deps, now: () => HOUR + 3 * HOUR_MS }, grant());
      assert.ok((await store.state.listOpenWindows()).length > 0, 'indexed as open first');
      const late = click('late', 'u1', '/p3', 5);
      events.push(late);
      await mark([late]);
      await runAggregation(deps, grant());
      const notFinal = [...store.documents.values()].filter(
        (w) => w.action === 'index' && w.document.granularity !== 'all' && w.document.final !== true,
      );
      assert.deepEqual(notFinal, [], 'every hour and day document is final');
      assert.deepEqual(await store.state.listOpenWindows(), []);
      await assertSameAsOneRun(store, events);
    },
  );

  await t.test('when a sliced run dies after some slices, then the next run completes the day exactly', async () => {
    const events = manyPages();
    const { store, deps, grant, mark } = setUp(events, 300_000, 8);
    await mark(events);
    let dayWrites = 0;
    const dyingAtSecondSlice = {
      ...store.indexer,
      write: async (...args: Parameters<Store['indexer']['write']>) => {
        if (args[0].some((w) => w.action === 'index' && w.document.granularity === 'day') && ++dayWrites === 2) throw new Error('killed');
        return store.indexer.write(...args);
      },
    };
    await assert.rejects(runAggregation({ ...deps, indexer: dyingAtSecondSlice }, grant()), /killed/);
    assert.ok((await store.pendingHours.pending()).hours.length > 0, 'the day stays pending');
    await runAggregation(deps, grant());
    await assertSameAsOneRun(store, events);
  });
});

await test('hourChains', async (t) => {
  const h = (hour: number): number => hour * HOUR_MS;
  const cases: { name: string; hours: number[]; readers: number; chains: number[][] }[] = [
    { name: 'no hours', hours: [], readers: 2, chains: [] },
    { name: 'one run of hours, one reader', hours: [9, 10, 11], readers: 1, chains: [[11, 10, 9]] },
    { name: 'one run of hours, two readers', hours: [9, 10, 11], readers: 2, chains: [[10, 9], [11]] },
    {
      name: 'one run of four hours, two readers',
      hours: [9, 10, 11, 12],
      readers: 2,
      chains: [
        [10, 9],
        [12, 11],
      ],
    },
    { name: 'a gap, two readers', hours: [9, 11, 12], readers: 2, chains: [[9], [12, 11]] },
    { name: 'more runs than readers', hours: [1, 3, 5, 6], readers: 2, chains: [[1], [3], [6, 5]] },
    { name: 'more readers than hours', hours: [9, 10], readers: 4, chains: [[9], [10]] },
  ];
  for (const { name, hours, readers, chains } of cases) {
    await t.test(`when ${name}, then the chains are consecutive hours, latest first`, () => {
      assert.deepEqual(
        hourChains(hours.map(h), readers),
        chains.map((chain) => chain.map(h)),
      );
    });
  }
});

await test('movedSums', async (t) => {
  const day = (dayMs: number, clicks: number) => ({
    urlKey: '/a',
    country: 'FR',
    dayMs,
    clicks,
    timeSpentSumMs: 10 * clicks,
    timeSpentSamples: clicks,
  });
  const totals = (clicks: number) => ({ clicks, timeSpentSumMs: 10 * clicks, timeSpentSamples: clicks });
  const stored = { allTime: { days: 3, clicks: 12, timeSpentSumMs: 120, timeSpentSamples: 12 }, days: [day(1, 5), day(2, 4)] };

  await t.test('when days change, arrive and leave, then the sums move by their differences only', () => {
    assert.deepEqual(
      movedSums(stored, [
        { dayMs: 1, totals: totals(8) },
        { dayMs: 2, totals: null },
        { dayMs: 9, totals: totals(1) },
      ]),
      { days: 3, clicks: 12 + 3 - 4 + 1, timeSpentSumMs: 120, timeSpentSamples: 12 },
    );
    assert.deepEqual(movedSums(stored, []), stored.allTime);
  });

  await t.test('when the stored sums cannot be those of the stored days, then it gives nothing rather than moving them', () => {
    const changed = [{ dayMs: 1, totals: totals(1) }];
    assert.equal(movedSums({ ...stored, allTime: { ...stored.allTime, clicks: 2 } }, changed), undefined, 'fewer clicks than the day');
    assert.equal(movedSums({ ...stored, allTime: { ...stored.allTime, days: 0 } }, [{ dayMs: 2, totals: null }]), undefined, 'fewer days');
    assert.equal(movedSums({ ...stored, allTime: { ...stored.allTime, clicks: 6 } }, changed), undefined, 'two days left with one click');
    assert.equal(
      movedSums({ ...stored, allTime: { ...stored.allTime, timeSpentSamples: 13 } }, changed),
      undefined,
      'more samples than clicks',
    );
    assert.equal(
      movedSums({ allTime: { days: 1, clicks: 7, timeSpentSumMs: 0, timeSpentSamples: 0 }, days: [day(1, 5)] }, changed),
      undefined,
      'clicks left without a day',
    );
    assert.equal(movedSums({ ...stored, allTime: { ...stored.allTime, clicks: 2 ** 60 } }, changed), undefined, 'not a safe integer');
  });
});

await test('an index that lost its documents', async (t) => {
  // Two days, three hours, two urls: hour, day and all-time documents.
  const events = [
    click('e1', 'u1', '/a', 1),
    click('e2', 'u2', '/a', 70),
    click('e3', 'u1', '/b', 14 * 60 + 5),
    click('e4', 'u3', '/b', 14 * 60 + 9),
  ];

  await t.test('when the index is replaced by an empty one, then the next run indexes every stored window again, once', async () => {
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    await runAggregation(deps, grant());
    const before = documentsOf(store);
    assert.equal(before.length, 7, 'three hours, two days, two all-time groups');

    store.metricsIndex.replace();
    const refilled = await runAggregation(deps, grant());
    assert.deepEqual(documentsOf(store), before);
    assert.equal(refilled.republished, before.length);
    assert.equal(refilled.indexed, before.length);

    const next = await runAggregation(deps, grant());
    assert.equal(next.indexed, 0, 'the refilled index is recorded: nothing is indexed again');
  });

  await t.test('when Elasticsearch does not answer the index check once, then the run retries it and goes on', async () => {
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    let checks = 0;
    const retried: string[] = [];
    const flaky = {
      ...store.metricsIndex,
      identify: () => {
        checks += 1;
        return checks === 1
          ? Promise.reject(Object.assign(new Error('no living connections'), { retriable: true }))
          : store.metricsIndex.identify();
      },
    };
    const summary = await runAggregation(
      { ...deps, metricsIndex: flaky, retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 }, onRetry: (target) => retried.push(target) },
      grant(),
    );
    assert.equal(summary.indexed, 7);
    assert.deepEqual(retried, ['elasticsearch']);
  });

  await t.test('when a run dies while filling the index, then the next run fills it again', async () => {
    const { store, deps, grant, mark } = setUp(events);
    await mark(events);
    await runAggregation(deps, grant());
    const before = documentsOf(store);
    store.metricsIndex.replace();
    const dyingAtAllTime = {
      ...store.indexer,
      write: async (...args: Parameters<Store['indexer']['write']>) => {
        if (args[0].some((w) => w.action === 'index' && w.document.granularity === 'all')) throw new Error('killed');
        return store.indexer.write(...args);
      },
    };
    await assert.rejects(runAggregation({ ...deps, indexer: dyingAtAllTime }, grant()), /killed/);
    assert.notDeepEqual(documentsOf(store), before);
    await runAggregation(deps, grant());
    assert.deepEqual(documentsOf(store), before);
  });

  await t.test('when hour documents have a retention, then the hours past it are not indexed again', async () => {
    const { store, deps, grant, mark } = setUp(events);
    // Hour documents are kept for 10 days: at NOW, the first day's hours are past that.
    const retentionMs = 10 * 24 * HOUR_MS - 12 * HOUR_MS;
    const expiring = {
      ...deps,
      expireHourDocuments: {
        retentionMs,
        deleteBefore: (cutoffMs: number) => {
          let deleted = 0;
          for (const [id, w] of store.documents)
            if (w.action === 'index' && w.document.granularity === 'hour' && Date.parse(w.document.window_start ?? '') < cutoffMs) {
              store.documents.delete(id);
              deleted += 1;
            }
          return Promise.resolve(deleted);
        },
      },
    };
    await mark(events);
    await runAggregation(expiring, grant());
    const before = documentsOf(store);
    const hours = before.filter(([, document]) => typeof document === 'object' && document?.granularity === 'hour');
    assert.equal(hours.length, 1, 'only the second day keeps its hour document');

    store.metricsIndex.replace();
    await runAggregation(expiring, grant());
    assert.deepEqual(documentsOf(store), before);
  });
});
