import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOUR_10_MS, at } from './test-events.ts';
import type { Granularity } from './windows.ts';
import { DAY_MS, HOUR_MS, SESSION_GAP_MS, dayStartMs, hourStartMs, hoursAffectedBy, isFinal, windowEndMs } from './windows.ts';

const DAY_START_MS = Date.UTC(2024, 2, 10);

await test('hourStartMs and dayStartMs', async (t) => {
  const cases = [
    { name: 'when the time is an hour start, then it is its own hour start', timeMs: HOUR_10_MS, hour: HOUR_10_MS, day: DAY_START_MS },
    {
      name: 'when the time is 1 ms before the next hour, then it floors to this hour',
      timeMs: HOUR_10_MS + HOUR_MS - 1,
      hour: HOUR_10_MS,
      day: DAY_START_MS,
    },
    {
      name: 'when the time is 1 ms before midnight, then it floors to this day',
      timeMs: DAY_START_MS + DAY_MS - 1,
      hour: DAY_START_MS + 23 * HOUR_MS,
      day: DAY_START_MS,
    },
    { name: 'when the time is before 1970, then it still floors downwards', timeMs: -1, hour: -HOUR_MS, day: -DAY_MS },
  ];
  for (const { name, timeMs, hour, day } of cases) {
    await t.test(name, () => {
      assert.equal(hourStartMs(timeMs), hour);
      assert.equal(dayStartMs(timeMs), day);
    });
  }

  await t.test('when the time is not finite, then it throws a RangeError', () => {
    assert.throws(() => hourStartMs(Number.NaN), RangeError);
  });
});

await test('hoursAffectedBy', async (t) => {
  const cases = [
    {
      name: 'when the event is at minute 10, then it affects the previous hour and its own',
      timeMs: at(10),
      hours: [HOUR_10_MS - HOUR_MS, HOUR_10_MS],
    },
    { name: 'when the event is at minute 40, then it affects only its own hour', timeMs: at(40), hours: [HOUR_10_MS] },
    { name: 'when the event is at minute 30 exactly, then it affects only its own hour', timeMs: at(30), hours: [HOUR_10_MS] },
    {
      name: 'when the event is 1 ms before minute 30, then it affects the previous hour too',
      timeMs: at(30) - 1,
      hours: [HOUR_10_MS - HOUR_MS, HOUR_10_MS],
    },
  ];
  for (const { name, timeMs, hours } of cases) {
    await t.test(name, () => {
      assert.deepEqual(hoursAffectedBy(timeMs), hours);
    });
  }
});

await test('isFinal', async (t) => {
  const lateness = 10 * 60_000;
  const hourFinalAt = HOUR_10_MS + HOUR_MS + lateness + SESSION_GAP_MS;
  const dayFinalAt = DAY_START_MS + DAY_MS + lateness + SESSION_GAP_MS;
  const cases: { name: string; granularity: Granularity; startMs: number | null; nowMs: number; latenessMs?: number; final: boolean }[] = [
    { name: 'when the hour is still open, then it is not final', granularity: 'hour', startMs: HOUR_10_MS, nowMs: at(59), final: false },
    {
      name: 'when now is 1 ms before end + default lateness (10 min) + look-ahead, then the hour is not final',
      granularity: 'hour',
      startMs: HOUR_10_MS,
      nowMs: hourFinalAt - 1,
      final: false,
    },
    {
      name: 'when now is exactly end + default lateness (10 min) + look-ahead, then the hour is final',
      granularity: 'hour',
      startMs: HOUR_10_MS,
      nowMs: hourFinalAt,
      final: true,
    },
    {
      name: 'when the lateness is 0, then the hour is final right after the look-ahead',
      granularity: 'hour',
      startMs: HOUR_10_MS,
      nowMs: HOUR_10_MS + HOUR_MS + SESSION_GAP_MS,
      latenessMs: 0,
      final: true,
    },
    {
      name: 'when now is 1 ms before the day end + lateness + look-ahead, then the day is not final',
      granularity: 'day',
      startMs: DAY_START_MS,
      nowMs: dayFinalAt - 1,
      final: false,
    },
    {
      name: 'when now is exactly the day end + lateness + look-ahead, then the day is final',
      granularity: 'day',
      startMs: DAY_START_MS,
      nowMs: dayFinalAt,
      final: true,
    },
    {
      name: "when the window is 'all', then it is never final",
      granularity: 'all',
      startMs: null,
      nowMs: Number.MAX_SAFE_INTEGER,
      final: false,
    },
  ];
  for (const { name, granularity, startMs, nowMs, latenessMs, final } of cases) {
    await t.test(name, () => {
      const actual = latenessMs === undefined ? isFinal(granularity, startMs, nowMs) : isFinal(granularity, startMs, nowMs, latenessMs);
      assert.equal(actual, final);
    });
  }

  const invalid: { name: string; granularity: Granularity; startMs: number | null }[] = [
    { name: "when an 'hour' window has no start, then it throws", granularity: 'hour', startMs: null },
    { name: "when an 'all' window has a start, then it throws", granularity: 'all', startMs: HOUR_10_MS },
    { name: 'when an hour start is not aligned, then it throws', granularity: 'hour', startMs: HOUR_10_MS + 1 },
    { name: 'when a day start is an hour start, then it throws', granularity: 'day', startMs: HOUR_10_MS },
  ];
  for (const { name, granularity, startMs } of invalid) {
    await t.test(name, () => {
      assert.throws(() => isFinal(granularity, startMs, HOUR_10_MS), RangeError);
    });
  }
});

await test('windowEndMs', async (t) => {
  await t.test('when windows are hour, day and all, then the ends are start + 1 h, start + 1 day and null', () => {
    assert.equal(windowEndMs('hour', HOUR_10_MS), HOUR_10_MS + HOUR_MS);
    assert.equal(windowEndMs('day', DAY_START_MS), DAY_START_MS + DAY_MS);
    assert.equal(windowEndMs('all', null), null);
  });
});
