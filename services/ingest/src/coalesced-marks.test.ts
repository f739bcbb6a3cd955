import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCoalescedMarks } from './coalesced-marks.ts';

test('when nothing is in flight, then a call starts its own round at once with its hours', async () => {
  const rounds: number[][] = [];
  const mark = createCoalescedMarks((hours) => {
    rounds.push([...hours]);
    return Promise.resolve();
  });
  await mark([3, 1, 1]);
  assert.deepEqual(rounds, [[1, 3]]);
});

test('when a call comes during a round, then that round does not count for it: it resolves only after the next round, which has its hours', async () => {
  const rounds: number[][] = [];
  const first = Promise.withResolvers<void>();
  const mark = createCoalescedMarks(async (hours) => {
    rounds.push([...hours]);
    if (rounds.length === 1) await first.promise;
  });
  const early = mark([1]);
  let lateDone = false;
  const late = mark([2]).then(() => (lateDone = true));
  const later = mark([2, 3]);
  assert.deepEqual(rounds, [[1]]);
  first.resolve();
  await early;
  assert.equal(lateDone, false);
  await Promise.all([late, later]);
  assert.deepEqual(rounds, [[1], [2, 3]]);
});

test('when a round fails, then exactly its callers reject with its error, and a later call gets a fresh round', async () => {
  const rounds: number[][] = [];
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  const mark = createCoalescedMarks(async (hours) => {
    rounds.push([...hours]);
    await (rounds.length === 1 ? first.promise : rounds.length === 2 ? second.promise : Promise.resolve());
  });
  const a = mark([1]);
  const b = mark([2]);
  const c = mark([3]);
  first.resolve();
  await a;
  second.reject(new Error('Cassandra timed out'));
  await assert.rejects(b, /timed out/);
  await assert.rejects(c, /timed out/);
  await mark([2, 3]);
  assert.deepEqual(rounds, [[1], [2, 3], [2, 3]]);
});

test('when no hours are given, then no round is written', async () => {
  let calls = 0;
  const mark = createCoalescedMarks(() => {
    calls++;
    return Promise.resolve();
  });
  await mark([]);
  assert.equal(calls, 0);
});
