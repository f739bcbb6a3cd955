import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricDocument } from '@clickstream/metrics';
import { QueryArgsError, metricsTable, parseQueryArgs } from './query.ts';
import type { MetricsQuestion } from './query.ts';

await test('parseQueryArgs', async (t) => {
  const cases: { name: string; argv: string[]; expected: MetricsQuestion }[] = [
    {
      name: 'when only a path is given, then it asks for all-time metrics of that url_key',
      argv: ['--url', '/pricing/'],
      expected: { url: '/pricing', granularity: 'all', limit: 1_000 },
    },
    {
      name: 'when a full URL and a lower-case country are given, then both are normalised as ingest does',
      argv: ['--url', 'https://Shop.Example.com:443/a?x=1#top', '--country', 'us'],
      expected: { url: 'https://shop.example.com/a', country: 'US', granularity: 'all', limit: 1_000 },
    },
    {
      name: 'when a range is given without a granularity, then hours in [from, to) are asked for',
      argv: ['--url', '/a', '--from', '2024-05-01', '--to', '2024-05-01T12:00:00Z'],
      expected: { url: '/a', granularity: 'hour', fromMs: Date.UTC(2024, 4, 1), toMs: Date.UTC(2024, 4, 1, 12), limit: 1_000 },
    },
    {
      name: 'when days and a limit are asked for, then they are kept',
      argv: ['--url', '/a', '--granularity', 'day', '--limit', '30'],
      expected: { url: '/a', granularity: 'day', limit: 30 },
    },
  ];
  for (const { name, argv, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(parseQueryArgs(argv), expected);
    });
  }
  const invalid: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'when --url is missing', argv: ['--country', 'US'], message: /--url is required/ },
    { name: 'when the url is not a url or path', argv: ['--url', 'pricing'], message: /neither an http\(s\) URL nor a path/ },
    { name: 'when the granularity is unknown', argv: ['--url', '/a', '--granularity', 'week'], message: /hour, day or all/ },
    {
      name: 'when a range is asked of all-time metrics',
      argv: ['--url', '/a', '--granularity', 'all', '--from', '2024-05-01'],
      message: /do not apply/,
    },
    { name: 'when an instant is not ISO-8601', argv: ['--url', '/a', '--from', 'yesterday'], message: /--from must be an ISO-8601/ },
    { name: 'when the range is empty', argv: ['--url', '/a', '--from', '2024-05-02', '--to', '2024-05-01'], message: /before --to/ },
    { name: 'when the country is not two letters', argv: ['--url', '/a', '--country', 'USA'], message: /two-letter/ },
    { name: 'when the limit is not a positive integer', argv: ['--url', '/a', '--limit', '0'], message: /--limit/ },
    { name: 'when an option is unknown', argv: ['--url', '/a', '--cuntry', 'US'], message: /cuntry/ },
  ];
  for (const { name, argv, message } of invalid) {
    await t.test(`${name}, then it fails with a message saying so`, () => {
      assert.throws(
        () => parseQueryArgs(argv),
        (err: unknown) => err instanceof QueryArgsError && message.test(err.message),
      );
    });
  }
});

await test('metricsTable', async (t) => {
  const row = (window_start: string | null, clicks: number, timeSpentSumMs: number, samples: number): MetricDocument => ({
    granularity: window_start === null ? 'all' : 'hour',
    window_start,
    window_end: window_start === null ? null : new Date(Date.parse(window_start) + 3_600_000).toISOString(),
    url: '/a',
    country: 'US',
    clicks,
    unique_users: 2,
    unique_users_exact: true,
    time_spent_sum_ms: timeSpentSumMs,
    time_spent_samples: samples,
    avg_time_spent_ms: samples === 0 ? null : timeSpentSumMs / samples,
    final: true,
    updated_at: '2024-05-02T00:00:00.000Z',
  });
  await t.test('when there is one row, then it shows its numbers, average in seconds, and no total', () => {
    assert.equal(
      metricsTable([row(null, 12, 9_000, 4)]),
      [
        'window    url  country  clicks  unique users  avg time spent  final',
        '--------  ---  -------  ------  ------------  --------------  -----',
        'all time  /a   US           12             2           2.3 s  -',
      ].join('\n'),
    );
  });
  await t.test('when there are several windows, then the total sums clicks and time spent but not unique users', () => {
    const lines = metricsTable([row('2024-05-01T10:00:00.000Z', 3, 1_000, 1), row('2024-05-01T11:00:00.000Z', 5, 0, 0)]).split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[2] ?? '', /^hour 2024-05-01T10:00Z\s+\/a\s+US\s+3\s+2\s+1\.0 s\s+yes$/);
    assert.match(lines[3] ?? '', /^hour 2024-05-01T11:00Z\s+\/a\s+US\s+5\s+2\s+-\s+yes$/);
    assert.match(lines[4] ?? '', /^total\s+8\s+\(not additive\)\s+1\.0 s$/);
  });
});
