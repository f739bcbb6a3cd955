import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAggregatorConfig } from './config.ts';

test('when the per-user state would expire no later than the events, then the configuration is refused naming the variable; two days longer, or no user TTL, is accepted', () => {
  // A day's unique users are the union of its hours' user sets. With both retentions 7 days, the
  // sets of 00:00 (written when its events came) expire after 7 days, while a late event for 23:00
  // of that day is still recomputed for 23 more hours: its roll-up found 00:00 without users and
  // counted fewer unique users for the day.
  for (const [events, users] of [
    ['7', '7'],
    ['7', '8'],
    ['7', '3'],
  ] as const)
    assert.throws(
      () => loadAggregatorConfig({ AGGREGATOR_EVENTS_TTL_DAYS: events, AGGREGATOR_USER_STATE_TTL_DAYS: users }),
      (err: unknown) => err instanceof Error && /AGGREGATOR_USER_STATE_TTL_DAYS/.test(err.message) && /\(9\)/.test(err.message),
    );
  for (const [events, users] of [
    ['7', '9'],
    ['0', '0'],
    ['7', '0'],
  ] as const)
    assert.equal(
      loadAggregatorConfig({ AGGREGATOR_EVENTS_TTL_DAYS: events, AGGREGATOR_USER_STATE_TTL_DAYS: users }).AGGREGATOR_USER_STATE_TTL_DAYS,
      Number(users),
    );
});

test('when events are kept for ever but the per-user state expires, then the configuration is refused naming the variable', () => {
  // A late event for a day older than the user TTL recomputes that day from events that are all
  // still there, but its other hours' user sets have expired: the day would count fewer users.
  assert.throws(
    () => loadAggregatorConfig({ AGGREGATOR_EVENTS_TTL_DAYS: '0', AGGREGATOR_USER_STATE_TTL_DAYS: '30' }),
    (err: unknown) =>
      err instanceof Error &&
      /AGGREGATOR_USER_STATE_TTL_DAYS/.test(err.message) &&
      /must be 0 while AGGREGATOR_EVENTS_TTL_DAYS is 0/.test(err.message),
  );
});
