import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { RetriesExhaustedError } from '@clickstream/retry';
import { LeaseLostError, withLease } from './run-lease.ts';
import type { LeaseGrant } from './run-lease.ts';
import { fakeLeases, manualClock, silentLogger } from './test-fakes.ts';

const TTL_MS = 3_000;
const options = (clock = manualClock()) => ({ name: 'aggregation', holder: 'me', ttlMs: TTL_MS, logger: silentLogger, clock });

/** Work that runs until the test resolves it, exposing its grant. */
function controllableWork(): { work: (grant: LeaseGrant) => Promise<string>; grant: Promise<LeaseGrant>; finish: () => void } {
  let resolveGrant!: (grant: LeaseGrant) => void;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const grant = new Promise<LeaseGrant>((resolve) => (resolveGrant = resolve));
  return {
    grant,
    finish,
    work: async (g) => {
      resolveGrant(g);
      await Promise.race([done, new Promise((_, reject) => g.signal.addEventListener('abort', () => reject(g.signal.reason as Error)))]);
      return 'done';
    },
  };
}

await test('withLease', async (t) => {
  await t.test('when another holder has the lease, then the work does not run and nothing is released', async () => {
    const leases = fakeLeases({ heldBy: 'other' });
    let ran = false;
    const outcome = await withLease(leases, options(), () => {
      ran = true;
      return Promise.resolve();
    });
    assert.deepEqual(outcome, { acquired: false });
    assert.equal(ran, false);
    assert.deepEqual(leases.calls, ['acquire me']);
  });

  await t.test('when the work finishes, then its result comes back with the grant token and the grant is released', async () => {
    const leases = fakeLeases();
    const outcome = await withLease(leases, options(), (grant) => Promise.resolve(`token ${grant.token}`));
    assert.deepEqual(outcome, { acquired: true, result: 'token 1' });
    assert.deepEqual(leases.calls, ['acquire me', 'release me 1']);
  });

  await t.test('when renewals succeed, then a long run keeps its lease and its signal stays quiet', async () => {
    const clock = manualClock();
    const leases = fakeLeases();
    const { work, grant, finish } = controllableWork();
    const outcome = withLease(leases, options(clock), work);
    const { signal } = await grant;
    await clock.advance(TTL_MS * 3);
    assert.equal(signal.aborted, false);
    assert.deepEqual(leases.calls.filter((c) => c.startsWith('renew')).length, 9);
    finish();
    assert.deepEqual(await outcome, { acquired: true, result: 'done' });
  });

  await t.test(
    'when a renewal is refused mid-run, then the signal aborts with LeaseLostError and the lost grant is not released',
    async () => {
      const clock = manualClock();
      const leases = fakeLeases({ renewals: [true, false] });
      const { work, grant } = controllableWork();
      const outcome = withLease(leases, options(clock), work);
      const { signal } = await grant;
      await clock.advance(TTL_MS / 3);
      assert.equal(signal.aborted, false, 'first renewal granted');
      await clock.advance(TTL_MS / 3);
      assert.ok(signal.aborted);
      assert.ok(signal.reason instanceof LeaseLostError);
      await assert.rejects(outcome, LeaseLostError);
      assert.ok(!leases.calls.some((c) => c.startsWith('release')));
    },
  );

  await t.test('when renewals fail for less than half the TTL, then the run goes on; past half the TTL, it aborts', async () => {
    const clock = manualClock();
    const outage = new Error('cassandra unreachable');
    const leases = fakeLeases({ renewals: [outage, outage, outage] });
    const { work, grant } = controllableWork();
    const outcome = withLease(leases, options(clock), work);
    const { signal } = await grant;
    await clock.advance(TTL_MS / 3);
    assert.equal(signal.aborted, false, 'one failure, 1/3 TTL since the last renewal');
    await clock.advance(TTL_MS / 3);
    assert.ok(signal.reason instanceof LeaseLostError, '2/3 TTL without a renewal');
    await assert.rejects(outcome, LeaseLostError);
  });

  await t.test(
    'when taking the lease fails for a transient reason (a node just lost), then it is tried again and the work runs',
    async () => {
      const transient = Object.assign(new Error('Server timeout during write query at consistency LOCAL_SERIAL'), { retriable: true });
      const leases = fakeLeases({ acquisitions: [transient, transient] });
      const outcome = await withLease(leases, { ...options(), acquireRetry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 } }, () =>
        Promise.resolve('done'),
      );
      assert.deepEqual(outcome, { acquired: true, result: 'done' });
      assert.deepEqual(leases.calls, ['acquire me', 'acquire me', 'acquire me', 'release me 1']);
    },
  );

  await t.test(
    'when the wall clock steps a day forward and one renewal then fails, then the lease is kept (its own clock is monotonic)',
    async () => {
      // The default clock: Date and the timers mocked, the monotonic clock (performance.now) left real.
      mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 10, 26, 21) });
      try {
        const leases = fakeLeases({ renewals: [new Error('timed out')] });
        const { work, grant, finish } = controllableWork();
        const outcome = withLease(leases, { name: 'aggregation', holder: 'me', ttlMs: TTL_MS, logger: silentLogger }, work);
        const { signal } = await grant;
        mock.timers.setTime(Date.now() + 24 * 3_600_000);
        mock.timers.tick(TTL_MS / 3);
        for (let i = 0; i < 10; i += 1) await Promise.resolve();
        assert.deepEqual(
          leases.calls.filter((c) => c.startsWith('renew')),
          ['renew me 1'],
        );
        assert.equal(signal.aborted, false, 'one failed renewal, a few ms after the last good one');
        finish();
        assert.deepEqual(await outcome, { acquired: true, result: 'done' });
      } finally {
        mock.timers.reset();
      }
    },
  );

  await t.test('when taking the lease keeps failing past the budget, or fails for good, then the work never runs', async () => {
    const transient = Object.assign(new Error('unavailable'), { retriable: true });
    const retry = { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 };
    let ran = false;
    const work = () => {
      ran = true;
      return Promise.resolve();
    };
    await assert.rejects(
      withLease(fakeLeases({ acquisitions: [transient, transient] }), { ...options(), acquireRetry: retry }, work),
      RetriesExhaustedError,
    );
    await assert.rejects(
      withLease(fakeLeases({ acquisitions: [new Error('syntax')] }), { ...options(), acquireRetry: retry }, work),
      /syntax/,
    );
    assert.equal(ran, false);
  });
});
