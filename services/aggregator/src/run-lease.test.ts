import assert from 'node:assert/strict';
import { test } from 'node:test';
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
});
