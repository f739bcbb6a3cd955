import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkUserIds } from './hour-state.ts';

await test('chunkUserIds', async (t) => {
  const cases: { when: string; userIds: string[]; maxChars: number; chunks: number }[] = [
    { when: 'no users', userIds: [], maxChars: 10, chunks: 1 },
    { when: 'a few short ids', userIds: ['a', 'b', 'c'], maxChars: 100, chunks: 1 },
    { when: 'ids past the limit', userIds: ['aaaa', 'bbbb', 'cccc', 'dddd'], maxChars: 8, chunks: 4 },
    { when: 'one id longer than the limit', userIds: ['x'.repeat(50), 'y'], maxChars: 10, chunks: 2 },
    {
      when: 'quotes, backslashes, control characters and non-BMP text',
      userIds: ['"', '\\', '\u0000\u001f', '😀中'],
      maxChars: 4,
      chunks: 4,
    },
  ];
  for (const { when, userIds, maxChars, chunks } of cases) {
    await t.test(`when ${when}, then the chunks are ${chunks} JSON arrays that give back every id in order`, () => {
      const result = chunkUserIds(userIds, maxChars);
      assert.equal(result.length, chunks);
      assert.deepEqual(
        result.flatMap((chunk) => JSON.parse(chunk) as string[]),
        userIds,
      );
    });
  }
});
