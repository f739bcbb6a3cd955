import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricDocumentId } from '@clickstream/metrics';
import type { WindowGroup } from '@clickstream/metrics';
import { allTimeWrite, windowWrites } from './window-documents.ts';

const HOUR = Date.UTC(2024, 2, 10, 10);
const UPDATED = Date.UTC(2024, 2, 10, 12);
const group = (urlKey: string, clicks: number, uniqueUsers: number, timeSpentSumMs = 0, timeSpentSamples = 0): WindowGroup => ({
  urlKey,
  country: 'FR',
  clicks,
  uniqueUsers,
  timeSpentSumMs,
  timeSpentSamples,
});

await test('windowWrites', async (t) => {
  await t.test('when a group is present, then it is indexed under its deterministic id with its numbers and flags', () => {
    const [write] = windowWrites({
      granularity: 'hour',
      windowStartMs: HOUR,
      groups: [group('/a', 4, 2, 9_000, 3)],
      previousGroups: [],
      reindexAll: false,
      final: true,
      updatedAtMs: UPDATED,
    });
    assert.deepEqual(write, {
      action: 'index',
      id: metricDocumentId('hour', HOUR, '/a', 'FR'),
      document: {
        granularity: 'hour',
        window_start: '2024-03-10T10:00:00.000Z',
        window_end: '2024-03-10T11:00:00.000Z',
        url: '/a',
        country: 'FR',
        clicks: 4,
        unique_users: 2,
        unique_users_exact: true,
        time_spent_sum_ms: 9_000,
        time_spent_samples: 3,
        avg_time_spent_ms: 3_000,
        final: true,
        updated_at: '2024-03-10T12:00:00.000Z',
      },
    });
  });
  const cases: { name: string; groups: WindowGroup[]; previous: WindowGroup[]; reindexAll?: boolean; expected: [string, string][] }[] = [
    { name: 'when the window had no documents and has none, then nothing is written', groups: [], previous: [], expected: [] },
    {
      name: 'when a group left the window since its last aggregation, then its document is deleted',
      groups: [group('/a', 1, 1)],
      previous: [group('/a', 1, 1), group('/gone', 3, 1)],
      expected: [['delete', '/gone']],
    },
    {
      name: 'when the same groups are there again with the same numbers, then nothing is written',
      groups: [group('/a', 1, 1), group('/b', 2, 1)],
      previous: [group('/b', 2, 1), group('/a', 1, 1)],
      expected: [],
    },
    {
      name: 'when one number of a group changed, then only that group is re-indexed',
      groups: [group('/a', 1, 1), group('/b', 2, 2), group('/c', 2, 1, 10, 1), group('/d', 2, 1)],
      previous: [group('/a', 1, 1), group('/b', 2, 1), group('/c', 2, 1, 10, 2), group('/d', 2, 1)],
      expected: [
        ['index', '/b'],
        ['index', '/c'],
      ],
    },
    {
      name: 'when the window is re-indexed as a whole (it turned final), then every group is written, changed or not',
      groups: [group('/a', 1, 1), group('/b', 2, 1)],
      previous: [group('/a', 1, 1)],
      reindexAll: true,
      expected: [
        ['index', '/a'],
        ['index', '/b'],
      ],
    },
  ];
  for (const { name, groups, previous, reindexAll, expected } of cases) {
    await t.test(name, () => {
      const writes = Array.from(
        windowWrites({
          granularity: 'day',
          windowStartMs: Date.UTC(2024, 2, 10),
          groups,
          previousGroups: previous,
          reindexAll: reindexAll ?? false,
          final: false,
          updatedAtMs: UPDATED,
        }),
      );
      assert.deepEqual(
        writes.map((w) => [w.action, w.id]),
        expected.map(([action, url]) => [action, metricDocumentId('day', Date.UTC(2024, 2, 10), url, 'FR')]),
      );
    });
  }
});

await test('allTimeWrite', async (t) => {
  await t.test('when the group has days, then the document gives their sums, the exact all-time users and is never final', () => {
    const allTime = { days: 2, clicks: 8, timeSpentSumMs: 4_000, timeSpentSamples: 4 };
    const write = allTimeWrite({ group: { urlKey: '/a', country: 'FR' }, allTime, uniqueUsers: 5, updatedAtMs: UPDATED });
    assert.equal(write.action, 'index');
    assert.equal(write.id, metricDocumentId('all', null, '/a', 'FR'));
    assert.deepEqual(write.action === 'index' ? write.document : null, {
      granularity: 'all',
      window_start: null,
      window_end: null,
      url: '/a',
      country: 'FR',
      clicks: 8,
      unique_users: 5,
      unique_users_exact: true,
      time_spent_sum_ms: 4_000,
      time_spent_samples: 4,
      avg_time_spent_ms: 1_000,
      final: false,
      updated_at: '2024-03-10T12:00:00.000Z',
    });
  });
  await t.test('when the group has no day left, then its document is deleted', () => {
    const allTime = { days: 0, clicks: 0, timeSpentSumMs: 0, timeSpentSamples: 0 };
    assert.deepEqual(allTimeWrite({ group: { urlKey: '/a', country: 'FR' }, allTime, uniqueUsers: 3, updatedAtMs: UPDATED }), {
      action: 'delete',
      id: metricDocumentId('all', null, '/a', 'FR'),
    });
  });
});
