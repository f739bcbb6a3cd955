import { AGGREGATION_LEASE } from '@clickstream/cassandra';
import type { LeaseRepository } from '@clickstream/cassandra';
import type { Logger } from '@clickstream/observability';
import type { AggregatorMetrics, RunOutcome } from './aggregator-metrics.ts';
import type { RunSummary } from './aggregation-run.ts';
import { withLease } from './run-lease.ts';
import type { LeaseClock, LeaseGrant } from './run-lease.ts';
import type { RetryPolicy } from '@clickstream/retry';

export interface AggregatorRunner {
  /** One run under the lease, after any run in progress; never rejects (failures are logged and counted). */
  runOnce(): Promise<RunOutcome>;
  /** One run unless one is in progress (a scheduled tick must not queue up behind a slow run). */
  runUnlessBusy(): Promise<RunOutcome | 'busy'>;
  /** Aborts the run in progress, if any, before its next write. */
  abort(reason: Error): void;
  /** Resolves once no run is in progress. */
  idle(): Promise<void>;
}

/**
 * Serialises aggregation runs in this process, takes the Cassandra lease for each (so replicas
 * never run at once), and reports every run: one info log line with the windows, documents and
 * duration, and the run metrics.
 */
export function createAggregatorRunner(deps: {
  leases: LeaseRepository;
  holder: string;
  leaseTtlMs: number;
  /** How often taking the lease is tried when it fails for a transient reason. */
  leaseRetry?: RetryPolicy;
  /** One aggregation pass under a grant (its signal also aborts on {@link AggregatorRunner.abort}). */
  run: (grant: LeaseGrant) => Promise<RunSummary>;
  metrics: AggregatorMetrics;
  logger: Logger;
  clock?: LeaseClock;
}): AggregatorRunner {
  const { metrics, logger } = deps;
  let current: Promise<RunOutcome> | undefined;
  let controller: AbortController | undefined;

  const runNow = async (): Promise<RunOutcome> => {
    const started = performance.now();
    controller = new AbortController();
    const stopSignal = controller.signal;
    let outcome: RunOutcome;
    try {
      const leased = await withLease(
        deps.leases,
        {
          name: AGGREGATION_LEASE,
          holder: deps.holder,
          ttlMs: deps.leaseTtlMs,
          logger,
          ...(deps.clock ? { clock: deps.clock } : {}),
          ...(deps.leaseRetry ? { acquireRetry: deps.leaseRetry } : {}),
        },
        (grant) => deps.run({ signal: AbortSignal.any([grant.signal, stopSignal]), token: grant.token }),
      );
      const durationMs = Math.round(performance.now() - started);
      if (leased.acquired) {
        const summary = leased.result;
        outcome = 'success';
        metrics.pendingHours.set(summary.pendingHours);
        metrics.openWindows.set(summary.openWindows);
        metrics.documents.inc({ action: 'indexed' }, summary.indexed);
        metrics.documents.inc({ action: 'deleted' }, summary.deleted);
        metrics.excludedUsers.inc(summary.excludedUsers);
        metrics.lastSuccess.set(Date.now() / 1_000);
        logger.info(
          {
            outcome,
            pendingHours: summary.pendingHours,
            windows: { hour: summary.hours, day: summary.days, finalised: summary.finalised, all: summary.allTimeGroups },
            documents: { indexed: summary.indexed, deleted: summary.deleted, republished: summary.republished },
            excludedUsers: summary.excludedUsers,
            durationMs,
            stepMs: summary.stepMs,
          },
          'aggregation run finished',
        );
      } else {
        outcome = 'skipped';
        logger.info({ outcome, durationMs }, 'aggregation run skipped: another replica holds the lease');
      }
    } catch (err) {
      outcome = 'failure';
      logger.error(
        { err, outcome, durationMs: Math.round(performance.now() - started) },
        'aggregation run failed; its markers stay for the next run',
      );
    }
    metrics.runs.inc({ outcome });
    metrics.runSeconds.observe({ outcome }, (performance.now() - started) / 1_000);
    return outcome;
  };

  const start = (): Promise<RunOutcome> => {
    const run = runNow().finally(() => {
      if (current === run) current = undefined;
    });
    current = run;
    return run;
  };

  return {
    async runOnce() {
      while (current) await current;
      return start();
    },
    async runUnlessBusy() {
      if (current) {
        logger.warn('previous aggregation run still in progress: this tick is skipped');
        return 'busy';
      }
      return start();
    },
    abort(reason) {
      controller?.abort(reason);
    },
    async idle() {
      while (current) await current;
    },
  };
}
