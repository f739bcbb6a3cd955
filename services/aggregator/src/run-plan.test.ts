import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WindowRef } from '@clickstream/metrics';
import { eventsRetentionMsOf, planRun } from './run-plan.ts';
import type { RunPlan } from './run-plan.ts';

const H = 3_600_000;
const DAY_1 = Date.UTC(2024, 2, 10);
const DAY_2 = Date.UTC(2024, 2, 11);
const LATENESS = 10 * 60_000;
/** The first instant an hour starting at `startMs` is final: end + lateness + 30-minute look-ahead. */
const finalAt = (startMs: number, lengthMs: number): number => startMs + lengthMs + LATENESS + 30 * 60_000;

await test('planRun', async (t) => {
  const cases: { name: string; pending: number[]; open: WindowRef[]; nowMs: number; expected: RunPlan }[] = [
    {
      name: 'when nothing is pending or open, then the run has nothing to do',
      pending: [],
      open: [],
      nowMs: DAY_2,
      expected: { days: [], toFinalise: [] },
    },
    {
      name: 'when hours of two days are pending, with repeated markers and out of order, then each day lists its distinct hours ascending',
      pending: [DAY_2 + H, DAY_1 + 23 * H, DAY_1 + 5 * H, DAY_2 + H, DAY_1 + 5 * H],
      open: [],
      nowMs: DAY_2 + 2 * H,
      expected: {
        days: [
          { dayMs: DAY_1, hoursMs: [DAY_1 + 5 * H, DAY_1 + 23 * H] },
          { dayMs: DAY_2, hoursMs: [DAY_2 + H] },
        ],
        toFinalise: [],
      },
    },
    {
      name: 'when an open hour has just become final, then it is re-indexed; one a millisecond short of it is not',
      pending: [],
      open: [
        { granularity: 'hour', windowStartMs: DAY_1 + 3 * H },
        { granularity: 'hour', windowStartMs: DAY_1 + 4 * H },
      ],
      nowMs: finalAt(DAY_1 + 3 * H, H),
      expected: { days: [], toFinalise: [{ granularity: 'hour', windowStartMs: DAY_1 + 3 * H }] },
    },
    {
      name: 'when an open day is final but one of its hours is pending, then the day is recomputed, not merely finalised',
      pending: [DAY_1 + 7 * H],
      open: [
        { granularity: 'day', windowStartMs: DAY_1 },
        { granularity: 'hour', windowStartMs: DAY_1 + 7 * H },
        { granularity: 'hour', windowStartMs: DAY_1 + 8 * H },
      ],
      nowMs: finalAt(DAY_1, 24 * H),
      expected: {
        days: [{ dayMs: DAY_1, hoursMs: [DAY_1 + 7 * H] }],
        toFinalise: [{ granularity: 'hour', windowStartMs: DAY_1 + 8 * H }],
      },
    },
    {
      name: 'when an open day and an open hour of it are final, then both are re-indexed, earliest first',
      pending: [],
      open: [
        { granularity: 'day', windowStartMs: DAY_1 },
        { granularity: 'hour', windowStartMs: DAY_1 + 23 * H },
      ],
      nowMs: finalAt(DAY_1, 24 * H),
      expected: {
        days: [],
        toFinalise: [
          { granularity: 'day', windowStartMs: DAY_1 },
          { granularity: 'hour', windowStartMs: DAY_1 + 23 * H },
        ],
      },
    },
  ];
  for (const { name, pending, open, nowMs, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(planRun({ pendingHoursMs: pending, openWindows: open, nowMs, allowedLatenessMs: LATENESS }), expected);
    });
  }
  await t.test('when the day is not final yet, then it is not finalised even though the run has nothing else to do', () => {
    const plan = planRun({
      pendingHoursMs: [],
      openWindows: [{ granularity: 'day', windowStartMs: DAY_1 }],
      nowMs: finalAt(DAY_1, 24 * H) - 1,
      allowedLatenessMs: LATENESS,
    });
    assert.deepEqual(plan.toFinalise, []);
  });
  await t.test('when a pending hour started before the retention of raw events, then it is not recomputed; later ones are', () => {
    const plan = planRun({
      pendingHoursMs: [DAY_1 + 3 * H, DAY_2 + 5 * H, DAY_2 + 6 * H],
      openWindows: [],
      nowMs: DAY_2 + 30 * H,
      allowedLatenessMs: LATENESS,
      retentionMsOf: () => 26 * H,
    });
    assert.deepEqual(plan.days, [{ dayMs: DAY_2, hoursMs: [DAY_2 + 5 * H, DAY_2 + 6 * H] }]);
  });
  await t.test(
    'when a pending hour is within an hour of leaving the retention, then it is not recomputed: its first events could expire during the run',
    () => {
      const plan = planRun({
        pendingHoursMs: [DAY_2 + 5 * H, DAY_2 + 6 * H],
        openWindows: [],
        nowMs: DAY_2 + 5 * H + 26 * H - 30 * 60_000,
        allowedLatenessMs: LATENESS,
        retentionMsOf: () => 26 * H,
      });
      assert.deepEqual(plan.days, [{ dayMs: DAY_2, hoursMs: [DAY_2 + 6 * H] }]);
    },
  );
});

test('eventsRetentionMsOf', async (t) => {
  const D = 24 * H;
  const raised = { ttlSeconds: 30 * 86_400, raises: [{ changedAtMs: DAY_2 + 5 * H, previousTtlSeconds: 7 * 86_400 }] };
  const cases: { when: string; configuredMs: number; ttl: Parameters<typeof eventsRetentionMsOf>[1]; hourMs: number; then: number }[] = [
    { when: 'nothing is known of the table', configuredMs: 30 * D, ttl: undefined, hourMs: DAY_1, then: 30 * D },
    { when: 'no retention anywhere', configuredMs: 0, ttl: { ttlSeconds: 0, raises: [] }, hourMs: DAY_1, then: 0 },
    { when: 'the table keeps events for ever', configuredMs: 30 * D, ttl: { ttlSeconds: 0, raises: [] }, hourMs: DAY_1, then: 30 * D },
    {
      when: 'none is configured but the table has a TTL',
      configuredMs: 0,
      ttl: { ttlSeconds: 86_400, raises: [] },
      hourMs: DAY_1,
      then: D,
    },
    { when: 'the table has a shorter TTL', configuredMs: 30 * D, ttl: { ttlSeconds: 7 * 86_400, raises: [] }, hourMs: DAY_1, then: 7 * D },
    { when: 'the configured one is shorter', configuredMs: 5 * D, ttl: { ttlSeconds: 7 * 86_400, raises: [] }, hourMs: DAY_1, then: 5 * D },
    { when: 'an hour of a day before a raise', configuredMs: 30 * D, ttl: raised, hourMs: DAY_1 + 3 * H, then: 7 * D },
    { when: 'an hour of a day long after a raise', configuredMs: 30 * D, ttl: raised, hourMs: DAY_2 + 3 * D, then: 30 * D },
  ];
  for (const { when, configuredMs, ttl, hourMs, then } of cases)
    await t.test(`when ${when}, then ${then / D} days (0: for ever)`, () => {
      assert.equal(eventsRetentionMsOf(configuredMs, ttl, hourMs), then);
    });
});
