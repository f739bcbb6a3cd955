import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricEvent } from './metric-event.ts';
import { at, clickEvent } from './test-events.ts';
import { assignTimeSpent } from './time-spent.ts';
import type { TimeSpentSource } from './time-spent.ts';

type Expected = Record<string, { timeSpentMs: number | null; source: TimeSpentSource }>;

const known = (timeSpentMs: number): Expected[string] => ({ timeSpentMs, source: 'next-event' });
const unknown: Expected[string] = { timeSpentMs: null, source: 'unknown' };

const cases: { name: string; events: MetricEvent[]; expected: Expected }[] = [
  {
    name: 'when an event carries time spent, then that value is used instead of the gap',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(0), timeSpentMs: 5_000 }), clickEvent({ eventId: 'b', eventTimeMs: at(1) })],
    expected: { a: { timeSpentMs: 5_000, source: 'provided' }, b: unknown },
  },
  {
    name: 'when an event carries a time spent of 0, then 0 is known and the gap is not used',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(0), timeSpentMs: 0 }), clickEvent({ eventId: 'b', eventTimeMs: at(1) })],
    expected: { a: { timeSpentMs: 0, source: 'provided' }, b: unknown },
  },
  {
    name: "when no time spent is carried, then it is the gap to the user's next event",
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(0) }), clickEvent({ eventId: 'b', eventTimeMs: at(2, 500) })],
    expected: { a: known(2 * 60_000 + 500), b: unknown },
  },
  {
    name: 'when the gap is exactly 30 minutes, then it is known',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(0) }), clickEvent({ eventId: 'b', eventTimeMs: at(30) })],
    expected: { a: known(30 * 60_000), b: unknown },
  },
  {
    name: 'when the gap is 30 minutes and 1 ms, then it is unknown',
    events: [clickEvent({ eventId: 'a', eventTimeMs: at(0) }), clickEvent({ eventId: 'b', eventTimeMs: at(30, 1) })],
    expected: { a: unknown, b: unknown },
  },
  {
    name: 'when the next event is in another session, then it is unknown and later events are not skipped to',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0), sessionId: 's1' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(1), sessionId: 's2' }),
      clickEvent({ eventId: 'c', eventTimeMs: at(2), sessionId: 's1' }),
    ],
    expected: { a: unknown, b: unknown, c: unknown },
  },
  {
    name: 'when the next event has no session id, then the session rule does not apply',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0), sessionId: 's1' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(3), sessionId: null }),
      clickEvent({ eventId: 'c', eventTimeMs: at(4), sessionId: 's2' }),
    ],
    expected: { a: known(3 * 60_000), b: known(60_000), c: unknown },
  },
  {
    name: 'when the last event of a session is followed by another session, then it is unknown',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0), sessionId: 's1' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(1), sessionId: 's1' }),
      clickEvent({ eventId: 'c', eventTimeMs: at(5), sessionId: 's2' }),
      clickEvent({ eventId: 'd', eventTimeMs: at(6), sessionId: 's2' }),
    ],
    expected: { a: known(60_000), b: unknown, c: known(60_000), d: unknown },
  },
  {
    name: 'when two events share an event time, then the smaller event id comes first (gap 0)',
    events: [
      clickEvent({ eventId: 'b', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'c', eventTimeMs: at(1) }),
    ],
    expected: { a: known(0), b: known(60_000), c: unknown },
  },
  {
    name: 'when an event is re-delivered, then it counts once and is not its own next event',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'b', eventTimeMs: at(4) }),
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
    ],
    expected: { a: known(4 * 60_000), b: unknown },
  },
  {
    name: 'when a bot event lies between two events, then it is not counted nor a next event',
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0) }),
      clickEvent({ eventId: 'bot', eventTimeMs: at(1), isBot: true }),
      clickEvent({ eventId: 'c', eventTimeMs: at(3) }),
    ],
    expected: { a: known(3 * 60_000), c: unknown },
  },
  {
    name: "when the user's next event is on another url, then it still defines the gap",
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0), urlKey: '/home' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(2), urlKey: '/pricing' }),
      clickEvent({ eventId: 'c', eventTimeMs: at(7), urlKey: '/home' }),
    ],
    expected: { a: known(2 * 60_000), b: known(5 * 60_000), c: unknown },
  },
  {
    name: "when users interleave, then each event's next event is its own user's",
    events: [
      clickEvent({ eventId: 'a', eventTimeMs: at(0), userId: 'u1' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(1), userId: 'u2', sessionId: 's9' }),
      clickEvent({ eventId: 'c', eventTimeMs: at(5), userId: 'u1' }),
    ],
    expected: { a: known(5 * 60_000), b: unknown, c: unknown },
  },
];

await test('assignTimeSpent', async (t) => {
  for (const { name, events, expected } of cases) {
    await t.test(name, () => {
      const actual = Object.fromEntries(
        assignTimeSpent(events).map((event) => [event.eventId, { timeSpentMs: event.timeSpentMs, source: event.timeSpentSource }]),
      );
      assert.deepEqual(actual, expected);
    });
  }

  await t.test('when events come in any order, then the result is ordered by (event time, event id)', () => {
    const events = [
      clickEvent({ eventId: 'c', eventTimeMs: at(2), userId: 'u2' }),
      clickEvent({ eventId: 'b', eventTimeMs: at(1) }),
      clickEvent({ eventId: 'a', eventTimeMs: at(2) }),
    ];
    assert.deepEqual(
      assignTimeSpent(events).map((event) => event.eventId),
      ['b', 'a', 'c'],
    );
  });

  await t.test('when copies of one event id differ, then the same copy is kept whatever the input order', () => {
    const early = clickEvent({ eventId: 'a', eventTimeMs: at(0), urlKey: '/x' });
    const late = clickEvent({ eventId: 'a', eventTimeMs: at(9), urlKey: '/y' });
    const forward = assignTimeSpent([early, late]);
    const backward = assignTimeSpent([late, early]);
    assert.equal(forward.length, 1);
    assert.deepEqual(backward, forward);
  });
});
