/**
 * The KRaft cluster id the local stack formats its Kafka storage with: 16 random bytes in URL-safe
 * base64, never starting with `-` (the storage tool's command line would read it as an option:
 * 1 id in 64 did, and the stack failed to start).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newClusterId } from './kafka.ts';

await test('newClusterId', async (t) => {
  await t.test('when the random bytes would give an id starting with "-", then other bytes are drawn', () => {
    // 0xf8 puts 62 in the first 6 bits: "-" in URL-safe base64.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    assert.equal(draws[0]?.toString('base64url').startsWith('-'), true);
    const id = newClusterId(() => draws.shift() ?? assert.fail('drew more than twice'));
    assert.equal(id, Buffer.alloc(16, 0x01).toString('base64url'));
    assert.equal(draws.length, 0);
  });

  await t.test('when ids are drawn from real randomness, then each is 22 URL-safe characters and none starts with "-"', () => {
    // 2,000 draws: about 31 would start with "-" without the rule.
    for (let i = 0; i < 2_000; i += 1) assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
