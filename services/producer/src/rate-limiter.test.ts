import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acquire, batchSizeFor, burstFor, createRateLimiter } from './rate-limiter.ts';

/** A clock only the test moves. */
function fakeClock(startMs = 1_000): { nowMs: () => number; advance: (ms: number) => void } {
  let now = startMs;
  return { nowMs: () => now, advance: (ms) => (now += ms) };
}

describe('batchSizeFor', () => {
  const cases: { rate: number | null; size: number }[] = [
    { rate: null, size: 500 },
    { rate: 100_000, size: 500 },
    { rate: 5_000, size: 500 },
    { rate: 2_000, size: 200 },
    { rate: 15, size: 2 },
    { rate: 5, size: 1 },
    { rate: 0.5, size: 1 },
  ];
  for (const { rate, size } of cases) {
    test(`when the rate is ${rate ?? 'unlimited'}, then batches hold ${size}`, () => assert.equal(batchSizeFor(rate), size));
  }
});

describe('createRateLimiter', () => {
  const cases: {
    when: string;
    rate: number;
    burst: number;
    steps: ({ advance: number } | { take: number })[];
    size: number;
    waitMs: number;
  }[] = [
    { when: 'nothing has accrued yet', rate: 1_000, burst: 100, steps: [], size: 100, waitMs: 100 },
    { when: 'half a batch has accrued', rate: 1_000, burst: 100, steps: [{ advance: 50 }], size: 100, waitMs: 50 },
    { when: 'a full batch has accrued', rate: 1_000, burst: 100, steps: [{ advance: 100 }], size: 100, waitMs: 0 },
    {
      when: 'the sender was idle for long, then took one batch',
      rate: 1_000,
      burst: 100,
      steps: [{ advance: 10_000 }, { take: 100 }],
      size: 100,
      waitMs: 100,
    },
    { when: 'a batch was taken without allowance (debt)', rate: 1_000, burst: 100, steps: [{ take: 100 }], size: 100, waitMs: 200 },
    { when: 'the rate is below one a second', rate: 0.5, burst: 1, steps: [], size: 1, waitMs: 2_000 },
    { when: 'the wait is a fraction of a millisecond', rate: 3, burst: 1, steps: [{ advance: 333 }], size: 1, waitMs: 1 },
    { when: 'a smaller last batch', rate: 2_000, burst: 200, steps: [], size: 40, waitMs: 20 },
  ];
  for (const { when, rate, burst, steps, size, waitMs } of cases) {
    test(`when ${when}, then ${size} may go after ${waitMs} ms`, () => {
      const clock = fakeClock();
      const limiter = createRateLimiter({ ratePerSec: rate, burst, nowMs: clock.nowMs });
      for (const step of steps) {
        if ('advance' in step) clock.advance(step.advance);
        else limiter.take(step.take);
      }
      assert.equal(limiter.waitMs(size), waitMs);
    });
  }

  test('when a batch is larger than the burst, then it is refused (it could never be sent)', () => {
    const limiter = createRateLimiter({ ratePerSec: 10, burst: 5, nowMs: fakeClock().nowMs });
    assert.throws(() => limiter.waitMs(6), RangeError);
  });

  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`when the rate is ${rate}, then the limiter refuses to be created`, () => {
      assert.throws(() => createRateLimiter({ ratePerSec: rate, burst: 1, nowMs: () => 0 }), RangeError);
    });
  }
});

describe('acquire, a simulated paced run', () => {
  const cases: { when: string; count: number; rate: number; sendMs: number; lateMs?: number; burst?: number; durationMs: number }[] = [
    { when: 'sends are instant', count: 5_000, rate: 2_000, sendMs: 0, durationMs: 2_500 },
    { when: 'sends take less than a batch period', count: 5_000, rate: 2_000, sendMs: 30, durationMs: 2_530 },
    // 25 batches of 200, each send 150 ms > the 100 ms period: Kafka is the limit, and the
    // allowance banked meanwhile (at most one extra batch) does not add up to a burst.
    { when: 'sends take longer than a batch period', count: 5_000, rate: 2_000, sendMs: 150, durationMs: 100 + 25 * 150 },
    { when: 'the count is not a multiple of the batch', count: 1_050, rate: 1_000, sendMs: 0, durationMs: 1_050 },
    { when: 'the rate is slow', count: 3, rate: 0.5, sendMs: 0, durationMs: 6_000 },
    // Timers fire late; what accrues meanwhile is kept for the next batch.
    { when: 'every timer fires 2 ms late', count: 5_000, rate: 2_000, sendMs: 0, lateMs: 2, durationMs: 2_502 },
    // Why the burst is two batches: with one, each late millisecond is lost and the rate falls short.
    {
      when: 'every timer fires 2 ms late and only one batch may be banked',
      count: 5_000,
      rate: 2_000,
      sendMs: 0,
      lateMs: 2,
      burst: 200,
      durationMs: 25 * 102,
    },
  ];
  for (const { when, count, rate, sendMs, lateMs = 0, burst, durationMs } of cases) {
    test(`when ${when}, then ${count} messages at ${rate}/s take ${durationMs} ms`, async () => {
      const clock = fakeClock(0);
      const batchSize = batchSizeFor(rate);
      const limiter = createRateLimiter({ ratePerSec: rate, burst: burst ?? burstFor(batchSize), nowMs: clock.nowMs });
      const sleep = (ms: number): Promise<boolean> => {
        clock.advance(ms + lateMs);
        return Promise.resolve(true);
      };
      for (let left = count; left > 0;) {
        const size = Math.min(batchSize, left);
        assert.equal(await acquire(limiter, size, sleep), true);
        clock.advance(sendMs);
        left -= size;
      }
      assert.equal(clock.nowMs(), durationMs);
    });
  }

  test('when the sleep is interrupted, then acquire says so and takes nothing', async () => {
    const clock = fakeClock(0);
    const limiter = createRateLimiter({ ratePerSec: 100, burst: 10, nowMs: clock.nowMs });
    assert.equal(await acquire(limiter, 10, () => Promise.resolve(false)), false);
    assert.equal(limiter.waitMs(10), 100, 'the allowance is untouched');
  });

  test('when a timer fires a little early, then acquire sleeps again for the rest', async () => {
    const clock = fakeClock(0);
    const limiter = createRateLimiter({ ratePerSec: 1_000, burst: 100, nowMs: clock.nowMs });
    const sleeps: number[] = [];
    const earlyOnceSleep = (ms: number): Promise<boolean> => {
      clock.advance(sleeps.length === 0 ? ms - 3 : ms);
      sleeps.push(ms);
      return Promise.resolve(true);
    };
    assert.equal(await acquire(limiter, 100, earlyOnceSleep), true);
    assert.deepEqual(sleeps, [100, 3]);
    assert.equal(limiter.waitMs(100), 100, 'the batch was taken');
  });
});
