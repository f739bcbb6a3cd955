import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latestWindowFirst } from './dashboard-queries.ts';
import type { OpenWindow } from './dashboard-queries.ts';

const HOUR_MS = 3_600_000;
const today = Date.UTC(2026, 10, 26);
const day: OpenWindow = { granularity: 'day', windowStartMs: today, groups: 4 };
const hourAt = (windowStartMs: number): OpenWindow => ({ granularity: 'hour', windowStartMs, groups: 2 });

for (const { name, hour, expected } of [
  { name: 'an hour after the day starts comes first', hour: hourAt(today + HOUR_MS), expected: ['hour', 'day'] },
  { name: 'the hour the day starts with comes after the day', hour: hourAt(today), expected: ['day', 'hour'] },
  { name: "yesterday's last hour comes after today", hour: hourAt(today - HOUR_MS), expected: ['day', 'hour'] },
]) {
  test(`latestWindowFirst: ${name}`, () => {
    for (const windows of [
      [day, hour],
      [hour, day],
    ]) {
      assert.deepEqual(
        [...windows].sort(latestWindowFirst).map((window) => window.granularity),
        expected,
      );
    }
  });
}
