import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeReferenceMetrics, referenceKey, referenceTimeSpent } from './reference-metrics.ts';
import type { ReferenceDocument, ReferenceEvent, ReferenceGranularity } from './reference-metrics.ts';

const MIN = 60_000;

/** An event at an ISO instant; defaults: user u1, session s1, url /a, country DE, no time spent, human. */
function ev(eventId: string, at: string, fields: Partial<ReferenceEvent> = {}): ReferenceEvent {
  return {
    eventId,
    userId: 'u1',
    sessionId: 's1',
    eventTimeMs: Date.parse(at),
    urlKey: '/a',
    country: 'DE',
    timeSpentMs: null,
    isBot: false,
    ...fields,
  };
}

/** An expected document; `window` is the ISO window start, null for `all`. */
function doc(
  granularity: ReferenceGranularity,
  window: string | null,
  url: string,
  country: string,
  clicks: number,
  uniqueUsers: number,
  timeSpentSumMs: number,
  timeSpentSamples: number,
  avgTimeSpentMs: number | null,
): ReferenceDocument {
  return {
    granularity,
    windowStartMs: window === null ? null : Date.parse(window),
    url,
    country,
    clicks,
    uniqueUsers,
    timeSpentSumMs,
    timeSpentSamples,
    avgTimeSpentMs,
  };
}

/** The same numbers in the hour, day and all windows (all events in one hour). */
function inEveryWindow(
  hour: string,
  url: string,
  country: string,
  ...numbers: [number, number, number, number, number | null]
): ReferenceDocument[] {
  return [
    doc('hour', hour, url, country, ...numbers),
    doc('day', `${hour.slice(0, 10)}T00:00:00Z`, url, country, ...numbers),
    doc('all', null, url, country, ...numbers),
  ];
}

/** Documents in the reference's order: granularity (hour, day, all), window start, url, country. */
function sorted(documents: ReferenceDocument[]): ReferenceDocument[] {
  const rank = { hour: 0, day: 1, all: 2 };
  return [...documents].sort(
    (a, b) =>
      rank[a.granularity] - rank[b.granularity] ||
      (a.windowStartMs ?? 0) - (b.windowStartMs ?? 0) ||
      (a.url < b.url ? -1 : a.url > b.url ? 1 : 0) ||
      (a.country < b.country ? -1 : a.country > b.country ? 1 : 0),
  );
}

const H10 = '2024-05-01T10:00:00Z';

const cases: { name: string; events: ReferenceEvent[]; expected: ReferenceDocument[] }[] = [
  {
    name: 'when a user has 3 events and changes session, then the gap before the change is unknown',
    events: [
      ev('a', '2024-05-01T10:00:00Z'),
      ev('b', '2024-05-01T10:05:00Z', { urlKey: '/b' }),
      ev('c', '2024-05-01T10:07:00Z', { sessionId: 's2' }),
    ],
    // a: 5 min to b (same session); b: next is c in s2, unknown; c: last, unknown.
    expected: [...inEveryWindow(H10, '/a', 'DE', 2, 1, 5 * MIN, 1, 5 * MIN), ...inEveryWindow(H10, '/b', 'DE', 1, 1, 0, 0, null)],
  },
  {
    name: 'when an event is delivered twice, then it counts once and makes no zero gap',
    events: [ev('a', '2024-05-01T10:00:00Z'), ev('a', '2024-05-01T10:00:00Z'), ev('b', '2024-05-01T10:01:00Z', { urlKey: '/b' })],
    expected: [...inEveryWindow(H10, '/a', 'DE', 1, 1, MIN, 1, MIN), ...inEveryWindow(H10, '/b', 'DE', 1, 1, 0, 0, null)],
  },
  {
    name: 'when a bot event sits between two events, then it is not counted and the gap skips it',
    events: [
      ev('a', '2024-05-01T10:00:00Z'),
      ev('x', '2024-05-01T10:10:00Z', { isBot: true }),
      ev('b', '2024-05-01T10:20:00Z'),
      ev('y', '2024-05-01T10:30:00Z', { userId: 'crawler', sessionId: null, urlKey: '/c', isBot: true }),
    ],
    // a -> b is 20 min; no document for /c, which only a bot visited.
    expected: inEveryWindow(H10, '/a', 'DE', 2, 1, 20 * MIN, 1, 20 * MIN),
  },
  {
    name: 'when the next event is in the next hour, then the gap belongs to the first event hour',
    events: [ev('a', '2024-05-01T10:50:00Z'), ev('b', '2024-05-01T11:10:00Z')],
    expected: [
      doc('hour', H10, '/a', 'DE', 1, 1, 20 * MIN, 1, 20 * MIN),
      doc('hour', '2024-05-01T11:00:00Z', '/a', 'DE', 1, 1, 0, 0, null),
      doc('day', '2024-05-01T00:00:00Z', '/a', 'DE', 2, 1, 20 * MIN, 1, 20 * MIN),
      doc('all', null, '/a', 'DE', 2, 1, 20 * MIN, 1, 20 * MIN),
    ],
  },
  {
    name: 'when the gap is exactly 30 minutes it counts; when it is 1 ms more it is unknown',
    events: [
      ev('a', '2024-05-01T10:00:00.000Z'),
      ev('b', '2024-05-01T10:30:00.000Z', { urlKey: '/b' }),
      ev('c', '2024-05-01T10:00:00.000Z', { userId: 'u2' }),
      ev('d', '2024-05-01T10:30:00.001Z', { userId: 'u2', urlKey: '/b' }),
    ],
    expected: [...inEveryWindow(H10, '/a', 'DE', 2, 2, 30 * MIN, 1, 30 * MIN), ...inEveryWindow(H10, '/b', 'DE', 2, 2, 0, 0, null)],
  },
  {
    name: 'when events carry time_spent_ms, then it wins over the gap, counts for a last event, and 0 is known',
    events: [ev('a', '2024-05-01T10:00:00Z', { timeSpentMs: 5_000 }), ev('b', '2024-05-01T10:01:00Z', { timeSpentMs: 0 })],
    expected: inEveryWindow(H10, '/a', 'DE', 2, 1, 5_000, 2, 2_500),
  },
  {
    name: 'when only one of two events has a session id, then the gap counts',
    events: [
      ev('a', '2024-05-01T10:00:00Z'),
      ev('b', '2024-05-01T10:02:00Z', { sessionId: null }),
      ev('c', '2024-05-01T10:00:00Z', { userId: 'u2', sessionId: null }),
      ev('d', '2024-05-01T10:03:00Z', { userId: 'u2', sessionId: 's9' }),
    ],
    expected: inEveryWindow(H10, '/a', 'DE', 4, 2, 5 * MIN, 2, 2.5 * MIN),
  },
  {
    name: 'when events share a timestamp, then they are ordered by event id (code point order)',
    events: [
      ev('b', '2024-05-01T10:00:00Z', { urlKey: '/b' }),
      ev('a', '2024-05-01T10:00:00Z'),
      ev('c', '2024-05-01T10:01:00Z', { urlKey: '/c' }),
      // "x-10" sorts before "x-9", so x-10's gap is 0 and x-9 has the 2-minute gap.
      ev('x-9', '2024-05-01T10:00:00Z', { userId: 'u2', urlKey: '/b' }),
      ev('x-10', '2024-05-01T10:00:00Z', { userId: 'u2', urlKey: '/c' }),
      ev('x-11', '2024-05-01T10:02:00Z', { userId: 'u2', urlKey: '/d' }),
    ],
    expected: [
      ...inEveryWindow(H10, '/a', 'DE', 1, 1, 0, 1, 0),
      ...inEveryWindow(H10, '/b', 'DE', 2, 2, 3 * MIN, 2, 1.5 * MIN),
      ...inEveryWindow(H10, '/c', 'DE', 2, 2, 0, 1, 0),
      ...inEveryWindow(H10, '/d', 'DE', 1, 1, 0, 0, null),
    ],
  },
  {
    name: 'when a session crosses midnight, then days split, countries stay apart, and all merges the days',
    events: [
      ev('a', '2024-05-01T23:50:00Z', { country: 'US' }),
      ev('b', '2024-05-02T00:10:00Z', { country: 'US' }),
      ev('c', '2024-05-01T23:55:00Z', { userId: 'u2', country: 'FR', timeSpentMs: 7_000 }),
    ],
    expected: [
      doc('hour', '2024-05-01T23:00:00Z', '/a', 'FR', 1, 1, 7_000, 1, 7_000),
      doc('hour', '2024-05-01T23:00:00Z', '/a', 'US', 1, 1, 20 * MIN, 1, 20 * MIN),
      doc('hour', '2024-05-02T00:00:00Z', '/a', 'US', 1, 1, 0, 0, null),
      doc('day', '2024-05-01T00:00:00Z', '/a', 'FR', 1, 1, 7_000, 1, 7_000),
      doc('day', '2024-05-01T00:00:00Z', '/a', 'US', 1, 1, 20 * MIN, 1, 20 * MIN),
      doc('day', '2024-05-02T00:00:00Z', '/a', 'US', 1, 1, 0, 0, null),
      doc('all', null, '/a', 'FR', 1, 1, 7_000, 1, 7_000),
      doc('all', null, '/a', 'US', 2, 1, 20 * MIN, 1, 20 * MIN),
    ],
  },
  {
    name: 'when a user comes back after 31 minutes in the same session, then the gap is unknown',
    events: [ev('a', '2024-05-01T10:00:00Z'), ev('b', '2024-05-01T10:31:00Z')],
    expected: inEveryWindow(H10, '/a', 'DE', 2, 1, 0, 0, null),
  },
  {
    name: 'when there are no counted events, then there are no documents',
    events: [ev('x', '2024-05-01T10:00:00Z', { isBot: true })],
    expected: [],
  },
];

await test('computeReferenceMetrics', async (t) => {
  for (const { name, events, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(computeReferenceMetrics(events), sorted(expected));
      // The input order must not matter.
      assert.deepEqual(computeReferenceMetrics([...events].reverse()), sorted(expected));
    });
  }

  await t.test('when copies of one event id differ, then the input is refused', () => {
    assert.throws(() => computeReferenceMetrics([ev('a', '2024-05-01T10:00:00Z'), ev('a', '2024-05-01T10:00:01Z')]), /appears twice/);
  });
});

await test('referenceTimeSpent', async (t) => {
  await t.test('when a user has 3 events and a session change, then each event gets its own rule', () => {
    const spent = referenceTimeSpent([
      ev('a', '2024-05-01T10:00:00Z'),
      ev('b', '2024-05-01T10:05:00Z'),
      ev('c', '2024-05-01T10:07:00Z', { sessionId: 's2' }),
    ]);
    assert.deepEqual([...spent].sort(), [
      ['a', 5 * MIN],
      ['b', null],
      ['c', null],
    ]);
  });
});

await test('referenceKey', async (t) => {
  await t.test('when the parts differ anywhere, then the keys differ; when equal, then equal', () => {
    assert.equal(referenceKey('hour', 0, '/a', 'DE'), referenceKey('hour', 0, '/a', 'DE'));
    const keys = [
      referenceKey('hour', 0, '/a', 'DE'),
      referenceKey('day', 0, '/a', 'DE'),
      referenceKey('all', null, '/a', 'DE'),
      referenceKey('hour', 3_600_000, '/a', 'DE'),
      referenceKey('hour', 0, '/a|DE', ''),
      referenceKey('hour', 0, '/a', 'FR'),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });
});
