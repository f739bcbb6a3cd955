import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { createQueryGate } from './query-gate.ts';

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createQueryGate', () => {
  test('when the slots are taken, then the next calls wait in order, the ones past the queue are refused at once, and freed slots pass on', async () => {
    const gate = createQueryGate({ maxInFlight: 2, maxWaiting: 1, maxWaitMs: 60_000 });
    const work = [Promise.withResolvers<string>(), Promise.withResolvers<string>(), Promise.withResolvers<string>()];
    const started: number[] = [];
    const calls = work.map((w, i) =>
      gate.run(() => {
        started.push(i);
        return w.promise;
      }),
    );
    await settled();
    assert.deepEqual(started, [0, 1]);
    assert.equal(gate.inFlight(), 2);
    assert.equal(gate.waiting(), 1);

    let refusedRan = false;
    const refused = await gate.run(() => {
      refusedRan = true;
      return Promise.resolve('never');
    });
    assert.deepEqual(refused, { admitted: false });
    assert.equal(refusedRan, false);

    work[0]?.resolve('a');
    assert.deepEqual(await calls[0], { admitted: true, value: 'a' });
    await settled();
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(gate.inFlight(), 2);
    assert.equal(gate.waiting(), 0);

    work[1]?.resolve('b');
    work[2]?.resolve('c');
    assert.deepEqual(await Promise.all(calls.slice(1)), [
      { admitted: true, value: 'b' },
      { admitted: true, value: 'c' },
    ]);
    assert.equal(gate.inFlight(), 0);
  });

  test('when a call fails, then its slot is freed and the failure is the caller’s', async () => {
    const gate = createQueryGate({ maxInFlight: 1, maxWaiting: 0, maxWaitMs: 60_000 });
    await assert.rejects(
      gate.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(gate.inFlight(), 0);
    assert.deepEqual(await gate.run(() => Promise.resolve(1)), { admitted: true, value: 1 });
  });

  test('when a waiting call gets no slot within maxWaitMs, then it is refused without running and leaves the queue', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const gate = createQueryGate({ maxInFlight: 1, maxWaiting: 5, maxWaitMs: 1_000 });
    const first = Promise.withResolvers<string>();
    const running = gate.run(() => first.promise);
    const work = mock.fn(() => Promise.resolve('late'));
    const waiting = gate.run(work);
    await settled();
    assert.equal(gate.waiting(), 1);
    t.mock.timers.tick(999);
    await settled();
    assert.equal(gate.waiting(), 1);
    t.mock.timers.tick(1);
    assert.deepEqual(await waiting, { admitted: false });
    assert.equal(gate.waiting(), 0);
    assert.equal(work.mock.callCount(), 0);
    first.resolve('done');
    await running;
    assert.equal(gate.inFlight(), 0);
  });
});
