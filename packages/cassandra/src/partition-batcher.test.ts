import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPartitionBatcher } from './partition-batcher.ts';
import type { Statement } from './partition-batcher.ts';

const unit = (partition: string, statements = 1, bytes = 10): Statement[] =>
  Array.from({ length: statements }, (_, i) => ({ query: `${partition}#${i}`, params: ['x'.repeat(bytes)] }));

/** A batcher over a recording `send` whose requests the test completes by hand. */
function recording(options: { maxPartitions: number; maxBytes: number; concurrency: number }) {
  const sent: { queries: string[]; done: () => void; fail: (error: Error) => void }[] = [];
  const batcher = createPartitionBatcher({
    ...options,
    send: (statements) =>
      new Promise<void>((done, fail) => {
        sent.push({ queries: statements.map((s) => s.query), done, fail });
      }),
  });
  return { batcher, sent };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

await test('createPartitionBatcher', async (t) => {
  await t.test('when partitions are submitted together, then they share requests within the partition and byte limits', async () => {
    const { batcher, sent } = recording({ maxPartitions: 3, maxBytes: 10_000, concurrency: 4 });
    const applied = ['a', 'b', 'c', 'd', 'e'].map((p) => batcher.submit(unit(p, p === 'b' ? 2 : 1)));
    await turn();
    assert.deepEqual(
      sent.map((request) => request.queries),
      [
        ['a#0', 'b#0', 'b#1', 'c#0'],
        ['d#0', 'e#0'],
      ],
      "a partition's statements stay together, in order",
    );
    for (const request of sent) request.done();
    await Promise.all(applied);
  });

  await t.test('when the next partition would pass the byte limit, then it goes in another request, and a big one alone', async () => {
    const { batcher, sent } = recording({ maxPartitions: 10, maxBytes: 250, concurrency: 4 });
    const applied = [
      batcher.submit(unit('a', 1, 50)),
      batcher.submit(unit('b', 1, 50)),
      batcher.submit(unit('big', 1, 500)),
      batcher.submit(unit('c', 1, 50)),
    ];
    await turn();
    assert.deepEqual(
      sent.map((request) => request.queries),
      [['a#0', 'b#0'], ['big#0'], ['c#0']],
    );
    for (const request of sent) request.done();
    await Promise.all(applied);
  });

  await t.test('when a request fails, then every partition in it is rejected with its error, and the others are applied', async () => {
    const { batcher, sent } = recording({ maxPartitions: 2, maxBytes: 10_000, concurrency: 4 });
    const applied = ['a', 'b', 'c'].map((p) =>
      batcher.submit(unit(p)).then(
        () => 'applied',
        (error: Error) => error.message,
      ),
    );
    await turn();
    sent[0]?.fail(new Error('write timeout'));
    sent[1]?.done();
    assert.deepEqual(await Promise.all(applied), ['write timeout', 'write timeout', 'applied']);
  });

  await t.test(
    'when requests are in flight up to the concurrency, then later partitions wait and go together when one completes',
    async () => {
      const { batcher, sent } = recording({ maxPartitions: 10, maxBytes: 10_000, concurrency: 1 });
      const first = batcher.submit(unit('a'));
      await turn();
      const later = ['b', 'c', 'd'].map((p) => batcher.submit(unit(p)));
      await turn();
      assert.equal(sent.length, 1, 'one request in flight at most');
      sent[0]?.done();
      await first;
      await turn();
      await turn();
      assert.deepEqual(sent[1]?.queries, ['b#0', 'c#0', 'd#0']);
      sent[1]?.done();
      await Promise.all(later);
    },
  );

  await t.test('when a partition has no statements, then nothing is sent for it', async () => {
    const { batcher, sent } = recording({ maxPartitions: 10, maxBytes: 10_000, concurrency: 1 });
    await batcher.submit([]);
    assert.equal(sent.length, 0);
  });
});
