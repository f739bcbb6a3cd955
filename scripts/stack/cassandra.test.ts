/**
 * The tokens each Cassandra node of the local stack starts with. They are fixed and interleaved,
 * so that no two nodes can pick the same one: with tokens allocated at join time, a node that
 * joined before gossip told it a previous node's tokens once took one of them, and exited with
 * "Bootstrap Token collision" (the 3-node stack then did not start).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOKENS_PER_NODE, initialTokens } from './cassandra.ts';
import type { NodeCount } from './topology.ts';

const MIN_TOKEN = -(2n ** 63n);
const MAX_TOKEN = 2n ** 63n - 1n;

await test('initialTokens', async (t) => {
  const cases: { count: NodeCount }[] = [{ count: 1 }, { count: 3 }];
  for (const { count } of cases) {
    await t.test(
      `when the stack has ${count} node(s), then every token is distinct, in Murmur3's range, and the ring is evenly cut`,
      () => {
        const perNode = Array.from({ length: count }, (_, i) => initialTokens(i + 1, count));
        for (const tokens of perNode) assert.equal(tokens.length, TOKENS_PER_NODE);
        const all = perNode.flat().map(BigInt);
        assert.equal(new Set(all).size, count * TOKENS_PER_NODE);
        for (const token of all) assert.ok(token >= MIN_TOKEN && token <= MAX_TOKEN, `${token} is outside Murmur3's range`);
        const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const step = 2n ** 64n / BigInt(all.length);
        for (let i = 1; i < sorted.length; i += 1) assert.equal((sorted[i] ?? 0n) - (sorted[i - 1] ?? 0n), step);
      },
    );
  }

  await t.test('when the ring is walked in token order, then the owners take turns (each range has three distinct replicas)', () => {
    const owners = [1, 2, 3]
      .flatMap((index) => initialTokens(index, 3).map((token) => ({ token: BigInt(token), index })))
      .sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
      .map((entry) => entry.index);
    for (let i = 0; i + 2 < owners.length; i += 1) assert.equal(new Set(owners.slice(i, i + 3)).size, 3);
  });

  await t.test('when each node of three is asked, then its first tokens are those the 3-node stack was verified with', () => {
    // As Cassandra logged them ("tokens manually specified") in the run that passed npm run test:cluster.
    const table = [
      { index: 1, first: '-9223372036854775808', second: '-8070450532247928833' },
      { index: 2, first: '-8839064868652493483', second: '-7686143364045646508' },
      { index: 3, first: '-8454757700450211158', second: '-7301836195843364183' },
    ];
    for (const { index, first, second } of table) assert.deepEqual(initialTokens(index, 3).slice(0, 2), [first, second]);
  });
});
