import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetriesExhaustedError, isRetriable, retryWithBackoff } from './index.ts';

class Transient extends Error {
  readonly retriable = true;
}
const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 4 };

test('when the operation succeeds after transient failures, then its result is returned', async () => {
  let calls = 0;
  const retried: number[] = [];
  const result = await retryWithBackoff(
    'op',
    () => {
      calls++;
      return calls < 3 ? Promise.reject(new Transient('flaky')) : Promise.resolve('done');
    },
    fast,
    { onRetry: (_err, attempt) => retried.push(attempt) },
  );
  assert.equal(result, 'done');
  assert.equal(calls, 3);
  assert.deepEqual(retried, [1, 2]);
});

test('when transient failures outlast the attempts, then RetriesExhaustedError carries the last cause', async () => {
  let calls = 0;
  const last = new Transient('still down');
  await assert.rejects(
    retryWithBackoff(
      'write',
      () => {
        calls++;
        return Promise.reject(last);
      },
      fast,
    ),
    (err: unknown) => err instanceof RetriesExhaustedError && err.attempts === 4 && err.cause === last && !isRetriable(err),
  );
  assert.equal(calls, 4);
});

test('when the failure is not retriable, then it is rethrown at once', async () => {
  let calls = 0;
  const bad = new Error('syntax');
  await assert.rejects(
    retryWithBackoff(
      'op',
      () => {
        calls++;
        return Promise.reject(bad);
      },
      fast,
    ),
    (err: unknown) => err === bad,
  );
  assert.equal(calls, 1);
});

test('when delays grow, then they stay within half to all of the capped exponential ceiling', async () => {
  const delays: number[] = [];
  await assert.rejects(
    retryWithBackoff(
      'op',
      () => Promise.reject(new Transient('x')),
      { attempts: 5, initialDelayMs: 2, maxDelayMs: 8 },
      {
        onRetry: (_e, _a, delay) => delays.push(delay),
        random: () => 1,
      },
    ),
  );
  assert.deepEqual(delays, [2, 4, 8, 8]);
});

test('when an operation is retried, then `between` runs before and after every wait, never before the first attempt', async () => {
  const steps: string[] = [];
  let calls = 0;
  await retryWithBackoff(
    'op',
    () => {
      steps.push(`attempt ${++calls}`);
      return calls < 3 ? Promise.reject(new Transient('x')) : Promise.resolve();
    },
    fast,
    {
      between: () => {
        steps.push('between');
        return Promise.resolve();
      },
    },
  );
  assert.deepEqual(steps, ['attempt 1', 'between', 'between', 'attempt 2', 'between', 'between', 'attempt 3']);
});
