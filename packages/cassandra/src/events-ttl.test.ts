import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortestEventsTtlSeconds } from './events-ttl.ts';

const DAY_MS = 86_400_000;
const DAY_S = 86_400;
/** A raise of the TTL from 7 to 30 days at noon on day 100. */
const raisedAtMs = 100 * DAY_MS + 12 * 3_600_000;
const raised = { ttlSeconds: 30 * DAY_S, raises: [{ changedAtMs: raisedAtMs, previousTtlSeconds: 7 * DAY_S }] };
/** Then from 30 to 60 days five days later. */
const raisedTwice = {
  ttlSeconds: 60 * DAY_S,
  raises: [...raised.raises, { changedAtMs: raisedAtMs + 5 * DAY_MS, previousTtlSeconds: 30 * DAY_S }],
};

describe('shortestEventsTtlSeconds', () => {
  const cases: { when: string; history: Parameters<typeof shortestEventsTtlSeconds>[0]; dayMs: number; then: number }[] = [
    { when: 'no TTL and no raise', history: { ttlSeconds: 0, raises: [] }, dayMs: 5 * DAY_MS, then: 0 },
    { when: 'a TTL never raised', history: { ttlSeconds: 7 * DAY_S, raises: [] }, dayMs: 5 * DAY_MS, then: 7 * DAY_S },
    { when: 'a day before the raise', history: raised, dayMs: 90 * DAY_MS, then: 7 * DAY_S },
    { when: 'the day of the raise', history: raised, dayMs: 100 * DAY_MS, then: 7 * DAY_S },
    // Ingest accepts events up to 24 h ahead: one written before the raise can be dated the next day.
    { when: 'the day after the raise', history: raised, dayMs: 101 * DAY_MS, then: 7 * DAY_S },
    { when: 'two days after the raise', history: raised, dayMs: 102 * DAY_MS, then: 30 * DAY_S },
    // Ingest follows a TTL change within a minute: a click it wrote with the old TTL just after a
    // raise at 23:59:30 can be dated up to 24 h later, into the day after next.
    {
      when: 'the day after next of a raise just before midnight',
      history: { ttlSeconds: 30 * DAY_S, raises: [{ changedAtMs: 101 * DAY_MS - 30_000, previousTtlSeconds: 7 * DAY_S }] },
      dayMs: 102 * DAY_MS,
      then: 7 * DAY_S,
    },
    {
      when: 'a raise to no TTL at all',
      history: { ttlSeconds: 0, raises: [{ changedAtMs: raisedAtMs, previousTtlSeconds: 7 * DAY_S }] },
      dayMs: 100 * DAY_MS,
      then: 7 * DAY_S,
    },
    {
      when: 'a raise to no TTL at all, days later',
      history: { ttlSeconds: 0, raises: [{ changedAtMs: raisedAtMs, previousTtlSeconds: 7 * DAY_S }] },
      dayMs: 110 * DAY_MS,
      then: 0,
    },
    {
      when: 'two raises, a day before both',
      history: raisedTwice,
      dayMs: 99 * DAY_MS,
      then: 7 * DAY_S,
    },
    {
      when: 'two raises, a day between them',
      history: raisedTwice,
      dayMs: 103 * DAY_MS,
      then: 30 * DAY_S,
    },
  ];
  for (const { when, history, dayMs, then } of cases)
    it(`when ${when}, then the day's events may have been written with ${then / DAY_S} days (0: none)`, () => {
      assert.equal(shortestEventsTtlSeconds(history, dayMs), then);
    });
});
