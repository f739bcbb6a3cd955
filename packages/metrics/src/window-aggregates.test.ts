import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricEvent } from './metric-event.ts';
import { HOUR_10_MS, at, clickEvent } from './test-events.ts';
import type { HourGroup, MergeableTotals } from './groups.ts';
import { TooManyGroupsError, inGroupSlice } from './group-slices.ts';
import { compareCodePoints } from './ordering.ts';
import { aggregateHour, averageTimeSpentMs, mergeHourSlices, mergeTotals } from './window-aggregates.ts';

type PlainAggregate = Omit<HourGroup, 'userIds'> & { userIds: string[] };

function plain(aggregates: HourGroup[]): PlainAggregate[] {
  return aggregates.map((aggregate) => ({ ...aggregate, userIds: [...aggregate.userIds].sort() }));
}

const cases: { name: string; events: MetricEvent[]; expected: PlainAggregate[] }[] = [
  {
    name: 'when the next event lies in the look-ahead, then its gap counts for this hour but it is not counted',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(50) }), clickEvent({ eventId: 'next', eventTimeMs: at(70) })],
    expected: [{ urlKey: '/home', country: 'FR', clicks: 1, userIds: ['u1'], timeSpentSumMs: 20 * 60_000, timeSpentSamples: 1 }],
  },
  {
    name: 'when an event is at the next hour start, then it is only a look-ahead event',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(59, 59_999) }), clickEvent({ eventId: 'next', eventTimeMs: at(60) })],
    expected: [{ urlKey: '/home', country: 'FR', clicks: 1, userIds: ['u1'], timeSpentSumMs: 1, timeSpentSamples: 1 }],
  },
  {
    name: 'when an event lies before the hour, then it is not counted',
    events: [clickEvent({ eventId: 'before', eventTimeMs: at(-1) }), clickEvent({ eventId: 'a', eventTimeMs: at(0), timeSpentMs: 1_000 })],
    expected: [{ urlKey: '/home', country: 'FR', clicks: 1, userIds: ['u1'], timeSpentSumMs: 1_000, timeSpentSamples: 1 }],
  },
  {
    name: 'when several users click a group, then unique users counts each user once',
    events: [
      clickEvent({ eventId: 'a', userId: 'u1', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'b', userId: 'u1', eventTimeMs: at(1) }),
      clickEvent({ eventId: 'c', userId: 'u2', sessionId: 's2', eventTimeMs: at(2) }),
    ],
    expected: [{ urlKey: '/home', country: 'FR', clicks: 3, userIds: ['u1', 'u2'], timeSpentSumMs: 60_000, timeSpentSamples: 1 }],
  },
  {
    name: 'when events span urls and countries, then there is one sorted aggregate per (url, country)',
    events: [
      clickEvent({ eventId: 'a', userId: 'u1', eventTimeMs: at(0), urlKey: '/pricing', country: 'US' }),
      clickEvent({ eventId: 'b', userId: 'u1', eventTimeMs: at(4), urlKey: '/home', country: 'US' }),
      clickEvent({
        eventId: 'c',
        userId: 'u2',
        sessionId: 's2',
        eventTimeMs: at(1),
        urlKey: '/pricing',
        country: 'DE',
        timeSpentMs: 7_000,
      }),
      clickEvent({ eventId: 'd', userId: 'u3', sessionId: 's3', eventTimeMs: at(2), urlKey: '/home', country: 'FR' }),
      clickEvent({ eventId: 'e', userId: 'u4', sessionId: 's4', eventTimeMs: at(3), urlKey: '/pricing', country: 'US' }),
    ],
    expected: [
      { urlKey: '/home', country: 'FR', clicks: 1, userIds: ['u3'], timeSpentSumMs: 0, timeSpentSamples: 0 },
      { urlKey: '/home', country: 'US', clicks: 1, userIds: ['u1'], timeSpentSumMs: 0, timeSpentSamples: 0 },
      { urlKey: '/pricing', country: 'DE', clicks: 1, userIds: ['u2'], timeSpentSumMs: 7_000, timeSpentSamples: 1 },
      { urlKey: '/pricing', country: 'US', clicks: 2, userIds: ['u1', 'u4'], timeSpentSumMs: 4 * 60_000, timeSpentSamples: 1 },
    ],
  },
  {
    name: 'when bots and re-delivered events are present, then clicks count non-bot events once',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'bot', userId: 'crawler', sessionId: null, eventTimeMs: at(1), isBot: true }),
    ],
    expected: [{ urlKey: '/home', country: 'FR', clicks: 1, userIds: ['u1'], timeSpentSumMs: 0, timeSpentSamples: 0 }],
  },
  {
    name: 'when only bots and look-ahead events are present, then there are no aggregates',
    events: [clickEvent({ eventId: 'bot', eventTimeMs: at(0), isBot: true }), clickEvent({ eventId: 'later', eventTimeMs: at(65) })],
    expected: [],
  },
];

await test('aggregateHour', async (t) => {
  for (const { name, events, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(plain(aggregateHour(events, HOUR_10_MS)), expected);
    });
  }

  await t.test('when the same events come in reverse order, then the aggregates are identical', () => {
    const events = cases.flatMap((testCase) => testCase.events);
    assert.deepEqual(plain(aggregateHour([...events].reverse(), HOUR_10_MS)), plain(aggregateHour(events, HOUR_10_MS)));
  });

  await t.test('when the window start is not an hour start, then it throws a RangeError', () => {
    assert.throws(() => aggregateHour([], HOUR_10_MS + 1), RangeError);
  });

  // Three users hopping over 12 pages in two countries: each click's time spent is the gap to the
  // user's next click, mostly on another page, so mostly in another slice.
  const hopping = Array.from({ length: 48 }, (_, i) =>
    clickEvent({
      eventId: `e${i}`,
      userId: `u${i % 3}`,
      urlKey: `/p${(i * 5) % 12}`,
      country: i % 2 === 0 ? 'FR' : 'DE',
      eventTimeMs: at(i),
    }),
  );

  await t.test('when slices of the groups are asked, then each holds only its groups, exact, and together they are the whole hour', () => {
    const whole = plain(aggregateHour(hopping, HOUR_10_MS));
    for (const slices of [1, 2, 4, 7]) {
      const parts = Array.from({ length: slices }, (_, index) => plain(aggregateHour(hopping, HOUR_10_MS, { slice: { index, slices } })));
      for (const [index, part] of parts.entries())
        assert.ok(
          part.every((group) => inGroupSlice(group, { index, slices })),
          `slice ${index} of ${slices} holds only its groups`,
        );
      const joined = parts.flat().sort((a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country));
      assert.deepEqual(joined, whole, `${slices} slices`);
    }
    assert.equal(whole.length, 12, 'the case has groups to slice');
  });

  await t.test(
    'when an hour has more groups than maxGroups, then it throws TooManyGroupsError rather than hold them; at the bound it does not',
    () => {
      const groups = aggregateHour(hopping, HOUR_10_MS).length;
      assert.equal(aggregateHour(hopping, HOUR_10_MS, { maxGroups: groups }).length, groups);
      assert.throws(() => aggregateHour(hopping, HOUR_10_MS, { maxGroups: groups - 1 }), TooManyGroupsError);
      // Only the slice's groups count towards the bound.
      const inFirstHalf = aggregateHour(hopping, HOUR_10_MS, { slice: { index: 0, slices: 2 } }).length;
      assert.equal(aggregateHour(hopping, HOUR_10_MS, { slice: { index: 0, slices: 2 }, maxGroups: inFirstHalf }).length, inFirstHalf);
    },
  );
});

await test('mergeTotals', async (t) => {
  const cases: { name: string; parts: MergeableTotals[]; expected: MergeableTotals }[] = [
    { name: 'when there are no parts, then totals are zero', parts: [], expected: { clicks: 0, timeSpentSumMs: 0, timeSpentSamples: 0 } },
    {
      name: 'when there are several parts, then each total is their sum',
      parts: [
        { clicks: 3, timeSpentSumMs: 90_000, timeSpentSamples: 2 },
        { clicks: 5, timeSpentSumMs: 10_000, timeSpentSamples: 1 },
        { clicks: 1, timeSpentSumMs: 0, timeSpentSamples: 0 },
      ],
      expected: { clicks: 9, timeSpentSumMs: 100_000, timeSpentSamples: 3 },
    },
  ];
  for (const { name, parts, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(mergeTotals(parts), expected);
    });
  }

  const invalid: { name: string; parts: MergeableTotals[] }[] = [
    { name: 'when a part is fractional, then it throws', parts: [{ clicks: 1, timeSpentSumMs: 0.5, timeSpentSamples: 1 }] },
    { name: 'when a part is negative, then it throws', parts: [{ clicks: -1, timeSpentSumMs: 0, timeSpentSamples: 0 }] },
    {
      name: 'when a total would lose precision, then it throws',
      parts: [
        { clicks: 1, timeSpentSumMs: Number.MAX_SAFE_INTEGER, timeSpentSamples: 1 },
        { clicks: 1, timeSpentSumMs: 1, timeSpentSamples: 1 },
      ],
    },
  ];
  for (const { name, parts } of invalid) {
    await t.test(name, () => {
      assert.throws(() => mergeTotals(parts), RangeError);
    });
  }
});

await test('averageTimeSpentMs', async (t) => {
  const cases = [
    { name: 'when there are no samples, then the average is null', sumMs: 0, samples: 0, expected: null },
    { name: 'when there are samples, then the average is sum / samples', sumMs: 10_000, samples: 4, expected: 2_500 },
    { name: 'when the division is inexact, then the average keeps the fraction', sumMs: 10, samples: 3, expected: 10 / 3 },
  ];
  for (const { name, sumMs, samples, expected } of cases) {
    await t.test(name, () => {
      assert.equal(averageTimeSpentMs(sumMs, samples), expected);
    });
  }
});

await test('mergeHourSlices', async (t) => {
  const events: MetricEvent[] = [
    clickEvent({ eventId: 'a', userId: 'u1', eventTimeMs: at(0) }),
    clickEvent({ eventId: 'b', userId: 'u1', eventTimeMs: at(5), urlKey: '/pricing' }),
    clickEvent({ eventId: 'c', userId: 'u2', sessionId: 's2', eventTimeMs: at(1) }),
    clickEvent({ eventId: 'd', userId: 'u2', sessionId: 's2', eventTimeMs: at(70) }),
    clickEvent({ eventId: 'e', userId: 'u3', sessionId: 's3', eventTimeMs: at(2), timeSpentMs: 900 }),
    clickEvent({ eventId: 'f', userId: 'u3', sessionId: 's3', eventTimeMs: at(3), country: 'DE' }),
  ];
  await t.test('when an hour is aggregated per slice of its users and merged, then it equals the hour aggregated at once', () => {
    const whole = aggregateHour(events, HOUR_10_MS);
    for (const slices of [1, 2, 3]) {
      const parts = Array.from({ length: slices }, (_, index) =>
        aggregateHour(
          events.filter((e) => Number(e.userId.slice(1)) % slices === index),
          HOUR_10_MS,
        ),
      );
      assert.deepEqual(plain(mergeHourSlices(parts)), plain(whole), `${slices} slices`);
    }
  });
  await t.test('when there are no slices, then there are no groups', () => {
    assert.deepEqual(mergeHourSlices([]), []);
  });
});
