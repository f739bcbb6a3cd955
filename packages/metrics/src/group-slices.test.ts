import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a32, groupHash, inGroupSlice, isSelected } from './group-slices.ts';
import { groupKey } from './groups.ts';

await test('group slices', async (t) => {
  await t.test('when strings are hashed, then FNV-1a gives its published values', () => {
    // Test vectors of the FNV-1a 32-bit reference.
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  await t.test('when the url and country split differently, then the groups hash apart', () => {
    assert.notEqual(groupHash({ urlKey: '/ab', country: 'C' }), groupHash({ urlKey: '/a', country: 'bC' }));
  });

  const groups = Array.from({ length: 2_000 }, (_, i) => ({
    urlKey: `https://shop.example/p/${i}`,
    country: ['FR', 'DE', 'US', 'ZZ'][i % 4] ?? 'FR',
  }));

  for (const slices of [1, 4, 16, 1_024]) {
    await t.test(`when groups are put in ${slices} slices, then each is in exactly one`, () => {
      for (const group of groups) {
        const holding = Array.from({ length: Math.min(slices, 64) }, (_, index) => index).filter((index) =>
          inGroupSlice(group, { index, slices }),
        );
        const expected = groupHash(group) % slices < 64 ? 1 : 0;
        assert.equal(holding.length, expected, `${group.urlKey} ${group.country}`);
      }
    });
  }

  await t.test('when 2,000 groups go in 4 slices, then each slice holds about a quarter', () => {
    const sizes = [0, 1, 2, 3].map((index) => groups.filter((group) => inGroupSlice(group, { index, slices: 4 })).length);
    assert.ok(
      sizes.every((size) => size > 400 && size < 600),
      sizes.join(', '),
    );
  });

  await t.test('when a selection is a set of keys or a slice, then it keeps those groups; none keeps all', () => {
    const [first, second] = groups;
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(isSelected(undefined, first), true);
    assert.equal(isSelected(new Set([groupKey(first)]), first), true);
    assert.equal(isSelected(new Set([groupKey(first)]), second), false);
    const slice = { index: groupHash(first) % 4, slices: 4 };
    assert.equal(isSelected(slice, first), true);
    assert.equal(isSelected({ index: (slice.index + 1) % 4, slices: 4 }, first), false);
  });
});
