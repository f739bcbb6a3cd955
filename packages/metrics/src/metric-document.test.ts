import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricDocument, MetricDocumentInput } from './metric-document.ts';
import { buildMetricDocument, metricDocumentId } from './metric-document.ts';
import { HOUR_10_MS } from './test-events.ts';
import type { Granularity } from './windows.ts';

const UPDATED_AT_MS = Date.UTC(2024, 2, 10, 12, 0, 0, 123);

const hourInput: MetricDocumentInput = {
  granularity: 'hour',
  windowStartMs: HOUR_10_MS,
  url: '/home',
  country: 'FR',
  clicks: 10,
  uniqueUsers: 4,
  uniqueUsersExact: true,
  timeSpentSumMs: 90_000,
  timeSpentSamples: 4,
  final: true,
  updatedAtMs: UPDATED_AT_MS,
};

await test('buildMetricDocument', async (t) => {
  const cases: { name: string; input: MetricDocumentInput; expected: MetricDocument }[] = [
    {
      name: 'when the window is an hour, then dates are ISO UTC and the average is sum / samples',
      input: hourInput,
      expected: {
        granularity: 'hour',
        window_start: '2024-03-10T10:00:00.000Z',
        window_end: '2024-03-10T11:00:00.000Z',
        url: '/home',
        country: 'FR',
        clicks: 10,
        unique_users: 4,
        unique_users_exact: true,
        time_spent_sum_ms: 90_000,
        time_spent_samples: 4,
        avg_time_spent_ms: 22_500,
        final: true,
        updated_at: '2024-03-10T12:00:00.123Z',
      },
    },
    {
      name: 'when the window is a day without samples, then it ends a day later and the average is null',
      input: {
        ...hourInput,
        granularity: 'day',
        windowStartMs: Date.UTC(2024, 2, 10),
        timeSpentSumMs: 0,
        timeSpentSamples: 0,
        final: false,
      },
      expected: {
        granularity: 'day',
        window_start: '2024-03-10T00:00:00.000Z',
        window_end: '2024-03-11T00:00:00.000Z',
        url: '/home',
        country: 'FR',
        clicks: 10,
        unique_users: 4,
        unique_users_exact: true,
        time_spent_sum_ms: 0,
        time_spent_samples: 0,
        avg_time_spent_ms: null,
        final: false,
        updated_at: '2024-03-10T12:00:00.123Z',
      },
    },
    {
      name: "when the window is 'all' with a sketch, then window dates are null and exactness is false",
      input: { ...hourInput, granularity: 'all', windowStartMs: null, uniqueUsersExact: false, final: false },
      expected: {
        granularity: 'all',
        window_start: null,
        window_end: null,
        url: '/home',
        country: 'FR',
        clicks: 10,
        unique_users: 4,
        unique_users_exact: false,
        time_spent_sum_ms: 90_000,
        time_spent_samples: 4,
        avg_time_spent_ms: 22_500,
        final: false,
        updated_at: '2024-03-10T12:00:00.123Z',
      },
    },
  ];
  for (const { name, input, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(buildMetricDocument(input), expected);
    });
  }

  const invalid: { name: string; input: MetricDocumentInput }[] = [
    {
      name: "when an 'all' document is final, then it throws",
      input: { ...hourInput, granularity: 'all', windowStartMs: null, final: true },
    },
    { name: "when an 'hour' document has no start, then it throws", input: { ...hourInput, windowStartMs: null } },
    { name: 'when a count is fractional, then it throws', input: { ...hourInput, clicks: 1.5 } },
    { name: 'when the update time is not a date, then it throws', input: { ...hourInput, updatedAtMs: Number.NaN } },
  ];
  for (const { name, input } of invalid) {
    await t.test(name, () => {
      assert.throws(() => buildMetricDocument(input), RangeError);
    });
  }
});

await test('metricDocumentId', async (t) => {
  type Tuple = [Granularity, number | null, string, string];
  const base: Tuple = ['hour', HOUR_10_MS, '/home', 'FR'];

  await t.test('when the tuple is the same, then the id is the same 64-character hex string', () => {
    const id = metricDocumentId(...base);
    assert.equal(metricDocumentId(...base), id);
    assert.match(id, /^[0-9a-f]{64}$/);
  });

  const variants: { name: string; tuple: Tuple }[] = [
    { name: 'when the granularity differs, then the id differs', tuple: ['day', Date.UTC(2024, 2, 10), '/home', 'FR'] },
    { name: 'when the window start differs, then the id differs', tuple: ['hour', HOUR_10_MS + 3_600_000, '/home', 'FR'] },
    { name: 'when the url differs, then the id differs', tuple: ['hour', HOUR_10_MS, '/pricing', 'FR'] },
    { name: 'when the country differs, then the id differs', tuple: ['hour', HOUR_10_MS, '/home', 'DE'] },
    { name: 'when characters move between url and country, then the id differs', tuple: ['hour', HOUR_10_MS, '/homeF', 'R'] },
  ];
  for (const { name, tuple } of variants) {
    await t.test(name, () => {
      assert.notEqual(metricDocumentId(...tuple), metricDocumentId(...base));
    });
  }

  await t.test("when the window start is null ('all') or the epoch, then the ids differ", () => {
    assert.notEqual(metricDocumentId('all', null, '/home', 'FR'), metricDocumentId('day', 0, '/home', 'FR'));
    assert.notEqual(metricDocumentId('all', null, '/home', 'FR'), metricDocumentId('hour', 0, '/home', 'FR'));
  });

  await t.test('when the url is 2,048 characters of multi-byte text, then the id is at most 512 bytes', () => {
    const id = metricDocumentId('hour', HOUR_10_MS, `/${'é'.repeat(2_047)}`, 'FR');
    assert.ok(Buffer.byteLength(id, 'utf8') <= 512);
  });

  await t.test('when the window start does not fit the granularity, then it throws', () => {
    assert.throws(() => metricDocumentId('all', HOUR_10_MS, '/home', 'FR'), RangeError);
  });
});
