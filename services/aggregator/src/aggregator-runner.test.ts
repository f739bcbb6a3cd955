import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricsRegistry } from '@clickstream/observability';
import { createAggregatorMetrics } from './aggregator-metrics.ts';
import { createAggregatorRunner } from './aggregator-runner.ts';
import type { RunSummary } from './aggregation-run.ts';
import type { LeaseGrant } from './run-lease.ts';
import { LeaseLostError } from './run-lease.ts';
import { fakeLeases, manualClock, silentLogger } from './test-fakes.ts';

const SUMMARY: RunSummary = {
  pendingHours: 2,
  openWindows: 0,
  hours: 2,
  days: 1,
  finalised: 0,
  excludedUsers: 0,
  republished: 0,
  allTimeGroups: 3,
  indexed: 7,
  deleted: 1,
  stepMs: { plan: 1, republish: 0, readHours: 2, allTimeUsers: 3, storeHours: 4, rollUpDays: 5, finalise: 6, allTime: 7, release: 8 },
};
const TTL_MS = 3_000;

function setUp(run: (grant: LeaseGrant) => Promise<RunSummary>, leases = fakeLeases(), clock = manualClock()) {
  const registry = createMetricsRegistry('test');
  const runner = createAggregatorRunner({
    leases,
    holder: 'me',
    leaseTtlMs: TTL_MS,
    run,
    metrics: createAggregatorMetrics(registry),
    logger: silentLogger,
    clock,
  });
  return { runner, registry, leases, clock };
}

/** A run that waits for its grant's signal or for the test to finish it. */
function blockingRun() {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let started!: (grant: LeaseGrant) => void;
  const grant = new Promise<LeaseGrant>((resolve) => (started = resolve));
  const run = async (g: LeaseGrant): Promise<RunSummary> => {
    started(g);
    await Promise.race([
      finished,
      new Promise((_, reject) => g.signal.addEventListener('abort', () => reject(g.signal.reason as Error), { once: true })),
    ]);
    return SUMMARY;
  };
  return { run, finish, grant };
}

await test('createAggregatorRunner', async (t) => {
  await t.test('when a run succeeds, then the outcome is success, the metrics count it and the lease is released', async () => {
    const { runner, registry, leases } = setUp(() => Promise.resolve(SUMMARY));
    assert.equal(await runner.runOnce(), 'success');
    const text = await registry.metrics();
    assert.match(text, /aggregator_runs_total\{[^}]*outcome="success"[^}]*\} 1/);
    assert.match(text, /aggregator_documents_written_total\{[^}]*action="indexed"[^}]*\} 7/);
    assert.match(text, /aggregator_pending_hours\{[^}]*\} 2/);
    assert.deepEqual(leases.calls, ['acquire me', 'release me 1']);
  });

  await t.test('when another replica holds the lease, then the run is skipped without running', async () => {
    let ran = false;
    const { runner } = setUp(
      () => {
        ran = true;
        return Promise.resolve(SUMMARY);
      },
      fakeLeases({ heldBy: 'other' }),
    );
    assert.equal(await runner.runOnce(), 'skipped');
    assert.equal(ran, false);
  });

  await t.test('when the run throws, then the outcome is failure and runOnce does not reject', async () => {
    const { runner, registry } = setUp(() => Promise.reject(new Error('cassandra down')));
    assert.equal(await runner.runOnce(), 'failure');
    assert.match(await registry.metrics(), /aggregator_runs_total\{[^}]*outcome="failure"[^}]*\} 1/);
  });

  await t.test('when a tick comes while a run is in progress, then it is busy; runOnce waits for the run in progress', async () => {
    const { run, finish, grant } = blockingRun();
    const { runner } = setUp(run);
    const first = runner.runOnce();
    await grant;
    assert.equal(await runner.runUnlessBusy(), 'busy');
    const second = runner.runOnce();
    finish();
    assert.equal(await first, 'success');
    assert.equal(await second, 'success');
  });

  await t.test(
    'when the lease is lost in the middle of a run, then the run sees LeaseLostError and fails, and the lost grant is not released',
    async () => {
      const { run, grant } = blockingRun();
      const leases = fakeLeases({ renewals: [true, false] });
      const clock = manualClock();
      const { runner } = setUp(run, leases, clock);
      const outcome = runner.runOnce();
      const { signal, token } = await grant;
      assert.equal(token, 1);
      await clock.advance(TTL_MS);
      assert.ok(signal.reason instanceof LeaseLostError);
      assert.equal(await outcome, 'failure');
      assert.ok(!leases.calls.includes('release me 1'), 'a lost grant is not released');
    },
  );

  await t.test('when the runner is aborted (shutdown), then the run in progress is aborted and idle() resolves', async () => {
    const { run, grant } = blockingRun();
    const { runner } = setUp(run);
    const outcome = runner.runOnce();
    await grant;
    runner.abort(new Error('shutting down'));
    await runner.idle();
    assert.equal(await outcome, 'failure');
  });
});
