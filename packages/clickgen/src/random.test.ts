import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom, createWeightedPicker } from './random.ts';

await test('createRandom', async (t) => {
  await t.test('when seeded alike, then sequences are equal; when seeded differently, then they differ', () => {
    const draw = (...seed: number[]): number[] => {
      const random = createRandom(...seed);
      return Array.from({ length: 20 }, () => random.next());
    };
    assert.deepEqual(draw(1, 2), draw(1, 2));
    assert.notDeepEqual(draw(1, 2), draw(2, 1));
    assert.notDeepEqual(draw(1), draw(1 + 2 ** 32));
  });

  await t.test('when drawing, then values stay in range and cover it evenly', () => {
    const random = createRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i += 1) {
      const value = random.next();
      assert.ok(value >= 0 && value < 1);
      const bucket = Math.floor(value * 10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
      const n = random.int(3, 5);
      assert.ok(n === 3 || n === 4 || n === 5);
    }
    for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 500, String(count));
  });

  await t.test('when picking by weight, then shares follow the weights', () => {
    const random = createRandom(8);
    const picker = createWeightedPicker([1, 0, 3]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 40_000; i += 1) {
      const index = picker.pick(random);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    assert.equal(counts[1], 0);
    assert.ok(Math.abs((counts[2] ?? 0) / 40_000 - 0.75) < 0.01);
  });
});
