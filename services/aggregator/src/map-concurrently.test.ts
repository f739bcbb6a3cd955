import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { mapConcurrently, settleAll } from './map-concurrently.ts';

await test('mapConcurrently', async (t) => {
  const cases = [
    { name: 'when there are no items, then the result is empty', items: [], limit: 3 },
    { name: 'when there are fewer items than the limit, then every item is mapped in order', items: [3, 1, 2], limit: 8 },
    { name: 'when there are more items than the limit, then every item is mapped in order', items: [5, 4, 3, 2, 1, 0, 9], limit: 2 },
  ];
  for (const { name, items, limit } of cases) {
    await t.test(`${name}, with at most ${limit} in flight`, async () => {
      let inFlight = 0;
      let most = 0;
      const result = await mapConcurrently(items, limit, async (item: number) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        for (let i = 0; i < item; i += 1) await tick();
        inFlight -= 1;
        return item * 10;
      });
      assert.deepEqual(
        result,
        items.map((item) => item * 10),
      );
      // Never more than the limit, and as many as it allows (a one-at-a-time map would pass the first alone).
      assert.equal(most, Math.min(limit, items.length));
    });
  }
  await t.test('when a call fails, then the map rejects with it and starts no further call', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapConcurrently([1, 2, 3, 4, 5], 1, async (item) => {
        started.push(item);
        await tick();
        if (item === 2) throw new Error('boom');
        return item;
      }),
      /boom/,
    );
    assert.deepEqual(started, [1, 2]);
  });
});

await test('settleAll', async (t) => {
  await t.test('when one step fails early, then it rejects with that failure only after the slower steps finished', async () => {
    let slowDone = false;
    const slow = (async () => {
      for (let i = 0; i < 5; i += 1) await tick();
      slowDone = true;
    })();
    const failing = Promise.reject(new Error('first'));
    const later = (async () => {
      await tick();
      throw new Error('second');
    })();
    await assert.rejects(settleAll([slow, failing, later]), /first/);
    assert.equal(slowDone, true);
  });

  await t.test('when every step succeeds, then it resolves', async () => {
    await settleAll([Promise.resolve(1), tick()]);
  });
});
