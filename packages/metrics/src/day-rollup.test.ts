import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HourGroup, WindowGroup } from './groups.ts';
import { rollUpDay } from './day-rollup.ts';

function hourGroup(urlKey: string, country: string, clicks: number, users: string[], timeSpentSumMs = 0, timeSpentSamples = 0): HourGroup {
  return { urlKey, country, clicks, timeSpentSumMs, timeSpentSamples, userIds: new Set(users) };
}

await test('rollUpDay', async (t) => {
  const cases: { name: string; hours: HourGroup[][]; expected: WindowGroup[] }[] = [
    { name: 'when the day has no stored hour, then it has no group', hours: [], expected: [] },
    {
      name: 'when a user is active in two hours of a group, then the day counts the user once and sums clicks and time spent',
      hours: [[hourGroup('/a', 'FR', 2, ['u1', 'u2'], 3_000, 2)], [hourGroup('/a', 'FR', 3, ['u1', 'u3'], 500, 1)]],
      expected: [{ urlKey: '/a', country: 'FR', clicks: 5, timeSpentSumMs: 3_500, timeSpentSamples: 3, uniqueUsers: 3 }],
    },
    {
      name: 'when the same user clicks in two groups, then each group counts the user',
      hours: [[hourGroup('/a', 'FR', 1, ['u1']), hourGroup('/a', 'DE', 1, ['u1'])]],
      expected: [
        { urlKey: '/a', country: 'DE', clicks: 1, timeSpentSumMs: 0, timeSpentSamples: 0, uniqueUsers: 1 },
        { urlKey: '/a', country: 'FR', clicks: 1, timeSpentSumMs: 0, timeSpentSamples: 0, uniqueUsers: 1 },
      ],
    },
    {
      name: 'when groups come in any order over the hours, then the day is ordered by url then country by code point',
      hours: [[hourGroup('/b', 'US', 1, ['u1'])], [hourGroup('/B', 'US', 1, ['u2']), hourGroup('/a', 'US', 4, ['u3'], 40, 4)]],
      expected: [
        { urlKey: '/B', country: 'US', clicks: 1, timeSpentSumMs: 0, timeSpentSamples: 0, uniqueUsers: 1 },
        { urlKey: '/a', country: 'US', clicks: 4, timeSpentSumMs: 40, timeSpentSamples: 4, uniqueUsers: 1 },
        { urlKey: '/b', country: 'US', clicks: 1, timeSpentSumMs: 0, timeSpentSamples: 0, uniqueUsers: 1 },
      ],
    },
  ];
  for (const { name, hours, expected } of cases) {
    await t.test(name, () => {
      assert.deepEqual(rollUpDay(hours), expected);
    });
  }
});
