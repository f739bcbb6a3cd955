import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClicksParams, parseFreshnessParams, parseTopParams } from './api-params.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const now = Date.UTC(2024, 0, 31, 13, 25);
const q = (query: string): URLSearchParams => new URLSearchParams(query);

test('parseClicksParams: when X, then the range is Y', async (t) => {
  const cases: { name: string; query: string; expected: { granularity: string; fromMs: number; toMs: number } }[] = [
    {
      name: 'nothing given: the last 48 hours, the current one included',
      query: '',
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 31, 14) - 48 * HOUR_MS, toMs: Date.UTC(2024, 0, 31, 14) },
    },
    {
      name: 'days: the last 30 days, today included',
      query: 'granularity=day',
      expected: { granularity: 'day', fromMs: Date.UTC(2024, 1, 1) - 30 * DAY_MS, toMs: Date.UTC(2024, 1, 1) },
    },
    {
      name: 'from and to inside hours: aligned outwards to whole hours',
      query: 'from=2024-01-01T10:30:00Z&to=2024-01-01T12:00:01Z',
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 1, 10), toMs: Date.UTC(2024, 0, 1, 13) },
    },
    {
      name: 'an offset: converted to UTC',
      query: 'from=2024-01-01T10:00:00%2B02:00&to=2024-01-01T12:00:00%2B02:00',
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 1, 8), toMs: Date.UTC(2024, 0, 1, 10) },
    },
    {
      name: 'dates only: UTC midnights',
      query: 'granularity=day&from=2024-01-01&to=2024-01-08',
      expected: { granularity: 'day', fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 0, 8) },
    },
    {
      name: "windows: that many windows ending with the current one, by the server's clock",
      query: 'windows=24',
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 31, 14) - 24 * HOUR_MS, toMs: Date.UTC(2024, 0, 31, 14) },
    },
    {
      name: 'windows of days, the longest day range',
      query: 'granularity=day&windows=3660',
      expected: { granularity: 'day', fromMs: Date.UTC(2024, 1, 1) - 3_660 * DAY_MS, toMs: Date.UTC(2024, 1, 1) },
    },
    {
      name: 'windows ending at a given to',
      query: 'windows=2&to=2024-01-01T12:00:00Z',
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 1, 10), toMs: Date.UTC(2024, 0, 1, 12) },
    },
    {
      name: 'exactly the longest hour range',
      query: `from=2024-01-01&to=${new Date(Date.UTC(2024, 0, 1) + 2_208 * HOUR_MS).toISOString()}`,
      expected: { granularity: 'hour', fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 0, 1) + 2_208 * HOUR_MS },
    },
  ];
  for (const { name, query, expected } of cases) {
    await t.test(name, () => {
      const result = parseClicksParams(q(query), now);
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual({ granularity: result.value.granularity, fromMs: result.value.fromMs, toMs: result.value.toMs }, expected);
    });
  }
});

test('hostile parameters: when X, then refused naming the parameter', async (t) => {
  const cases: { name: string; parse: () => ReturnType<typeof parseFreshnessParams>; param: string }[] = [
    {
      name: 'one hour past the longest range',
      parse: () => parseClicksParams(q('from=2024-01-01&to=2024-04-02T01:00:00Z'), now),
      param: 'from',
    },
    { name: 'from equal to to', parse: () => parseClicksParams(q('from=2024-01-01&to=2024-01-01'), now), param: 'from' },
    { name: 'windows and from together', parse: () => parseClicksParams(q('windows=2&from=2024-01-01'), now), param: 'windows' },
    { name: 'zero windows', parse: () => parseClicksParams(q('windows=0'), now), param: 'windows' },
    { name: 'one window past the longest hour range', parse: () => parseClicksParams(q('windows=2209'), now), param: 'windows' },
    { name: 'windows with a sign', parse: () => parseClicksParams(q('windows=%2B5'), now), param: 'windows' },
    { name: 'windows as a fraction', parse: () => parseClicksParams(q('windows=1.5'), now), param: 'windows' },
    { name: 'windows huge', parse: () => parseClicksParams(q(`windows=${'9'.repeat(400)}`), now), param: 'windows' },
    { name: 'a year 10000 date', parse: () => parseClicksParams(q('to=+010000-01-01T00:00:00Z'), now), param: 'to' },
    { name: 'a limit with a sign', parse: () => parseTopParams(q('by=url&limit=%2B5')), param: 'limit' },
    { name: 'a limit with spaces', parse: () => parseTopParams(q('by=url&limit=%205')), param: 'limit' },
    { name: 'DEL in country', parse: () => parseFreshnessParams(q('country=F%7F')), param: 'country' },
    { name: 'a parameter name with a newline', parse: () => parseFreshnessParams(q('a%0Ab=1')), param: 'a\\nb' },
    { name: 'constructor', parse: () => parseFreshnessParams(q('constructor=1')), param: 'constructor' },
  ];
  for (const { name, parse, param } of cases) {
    await t.test(name, () => {
      const result = parse();
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.issues.some((issue) => issue.param === param), JSON.stringify(result));
    });
  }
});

test('parseTopParams: defaults to all time, by clicks, 10 rows; at is the instant given', () => {
  const defaults = parseTopParams(q('by=country'));
  assert.ok(defaults.ok);
  const { by, window, sort, limit, url, country, atMs } = defaults.value;
  assert.deepEqual([by, window, sort, limit, url, country, atMs], ['country', 'all', 'clicks', 10, undefined, undefined, undefined]);
  const hour = parseTopParams(q('by=url&window=hour&at=2024-01-31T13:59:59.999Z&limit=100&url=%2Fa%20b&country=FR'));
  assert.ok(hour.ok);
  assert.equal(hour.value.atMs, Date.UTC(2024, 0, 31, 13, 59, 59, 999));
  assert.equal(hour.value.url, '/a b');
  assert.equal(hour.value.limit, 100);
});
