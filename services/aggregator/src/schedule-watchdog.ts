import type { Liveness } from '@clickstream/observability';

export interface ScheduleWatchdog {
  /** The schedule fired (a run started, or was skipped because one was still going). */
  fired(): void;
  /** Unhealthy once the schedule's next firing is more than the tolerance overdue. */
  liveness(): Liveness;
}

/**
 * Watches that a schedule keeps firing: a timer that stopped (a destroyed task, a blocked event
 * loop, a scheduler bug) makes `/healthz` fail so that the orchestrator restarts the pod.
 *
 * @param nextRunMs when the schedule fires next, as the scheduler says (null: it will not).
 * @param toleranceMs how late a firing may be before the service counts as wedged.
 */
export function createScheduleWatchdog(options: {
  nextRunMs: () => number | null;
  nowMs: () => number;
  toleranceMs: number;
}): ScheduleWatchdog {
  let dueMs = options.nextRunMs();
  return {
    fired: () => {
      dueMs = options.nextRunMs();
    },
    liveness: () => {
      if (dueMs === null) return { healthy: false, reason: 'the aggregation schedule will not fire again' };
      const lateMs = options.nowMs() - dueMs;
      return lateMs > options.toleranceMs
        ? { healthy: false, reason: `the aggregation schedule has not fired for ${Math.round(lateMs / 1000)} s past its time` }
        : { healthy: true };
    },
  };
}
