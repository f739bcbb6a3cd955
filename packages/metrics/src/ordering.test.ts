import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCodePoints } from './ordering.ts';

await test('compareCodePoints', async (t) => {
  const cases = [
    { name: 'when strings differ in ASCII, then they compare alphabetically', a: 'abc', b: 'abd', sign: -1 },
    { name: 'when one string is a prefix of the other, then the prefix comes first', a: 'ab', b: 'abc', sign: -1 },
    { name: 'when strings are equal, then they compare equal', a: 'same', b: 'same', sign: 0 },
    { name: 'when upper and lower case differ, then upper case comes first (no locale)', a: 'Z', b: 'a', sign: -1 },
    { name: 'when a character above U+FFFF meets U+FFFD, then it comes after (unlike UTF-16 order)', a: '\u{1F600}', b: '\uFFFD', sign: 1 },
    { name: 'when two characters above U+FFFF differ, then they compare by code point', a: '\u{1F600}', b: '\u{1F601}', sign: -1 },
  ];
  for (const { name, a, b, sign } of cases) {
    await t.test(name, () => {
      assert.equal(Math.sign(compareCodePoints(a, b)), sign);
      assert.equal(Math.sign(compareCodePoints(b, a)), sign === 0 ? 0 : -sign);
    });
  }
});
