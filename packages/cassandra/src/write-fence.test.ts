import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWriteFence, externalVersionOf, fenceTokenOf } from './write-fence.ts';

const BASE = 2n ** 52n;
const LONG_MAX = 2n ** 63n - 1n;
const valueOf = (fence: { nextTimestamp(): { toString(): string } }): bigint => BigInt(fence.nextTimestamp().toString());

await test('createWriteFence', async (t) => {
  await t.test('when a run takes more than a million timestamps (a backfill of months), then each is larger than the one before', () => {
    const fence = createWriteFence(7);
    let previous = valueOf(fence);
    for (let i = 0; i < 2 ** 20 + 10; i += 1) {
      const next = valueOf(fence);
      if (next <= previous) assert.fail(`timestamp ${i + 2} (${next}) is not above the one before (${previous})`);
      previous = next;
    }
  });

  await t.test(
    'when a newer token writes, then its first timestamp outranks every one of the token before, in this and the earlier layout',
    () => {
      for (const token of [1, 2, 1_000, 2 ** 20, 2 ** 28]) {
        const older = createWriteFence(token);
        const first = valueOf(older);
        const newer = valueOf(createWriteFence(token + 1));
        assert.ok(newer > first, `token ${token + 1} outranks token ${token}`);
        // The layout before the sequence was widened: 2^52 + token * 2^20 + a sequence below 2^20.
        const earlierLayoutLast = BASE + (BigInt(token) << 20n) + (2n ** 20n - 1n);
        assert.ok(newer > earlierLayoutLast, `token ${token + 1} outranks the earlier layout's last write of token ${token}`);
      }
    },
  );

  await t.test('when the token is the largest allowed, then its timestamps still fit a signed 64-bit Cassandra timestamp', () => {
    const largest = createWriteFence(2 ** 31 - 2 ** 20 - 1);
    assert.ok(valueOf(largest) <= LONG_MAX);
    assert.throws(() => createWriteFence(2 ** 31 - 2 ** 20), RangeError);
  });

  await t.test('when the token is not a positive safe integer, then the fence is refused', () => {
    for (const token of [0, -1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => createWriteFence(token), RangeError, String(token));
  });
});

await test('externalVersionOf', async (t) => {
  await t.test('when a timestamp lies past 2^53 above the base, then its version is exact, in the same order as the timestamps', () => {
    const fence = createWriteFence(2 ** 30);
    const first = fence.nextTimestamp();
    const second = fence.nextTimestamp();
    assert.equal(externalVersionOf(first), BigInt(first.toString()) - BASE);
    assert.equal(externalVersionOf(second) - externalVersionOf(first), 1n, 'consecutive writes differ by one, not rounded together');
  });
});

test('when a fenced write time or version is read back, then it gives its token; a clock time gives 0', () => {
  const fence = createWriteFence(1_234_567);
  fence.nextTimestamp();
  const timestamp = fence.nextTimestamp();
  assert.equal(fenceTokenOf({ timestamp: BigInt(timestamp.toString()) }), 1_234_567);
  assert.equal(fenceTokenOf({ version: externalVersionOf(timestamp) }), 1_234_567);
  assert.equal(fenceTokenOf({ timestamp: BigInt(Date.UTC(2024, 0, 1)) * 1_000n }), 0);
});
