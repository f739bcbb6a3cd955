/** Watches the wall clock against a monotonic one; `check()` reports a step of the wall clock. */
export interface ClockStepWatch {
  /** Compares both clocks with the last check; calls `onStep` when the wall clock jumped. */
  check(): void;
}

/**
 * Notices the wall clock stepping (an NTP correction, a node resumed, an operator's `date -s`):
 * between two checks, wall time and monotonic time advance alike unless it stepped. node-cron
 * arms its timer for the wall-clock delay to the next firing it computed before, so after a step
 * back of an hour the schedule fired again only an hour later, and its next firing stayed ahead
 * of the wall clock, so the schedule watchdog saw nothing overdue.
 *
 * @param toleranceMs how far the two clocks may drift apart between checks before it counts as a step.
 * @param onStep called with the step in ms (negative: the wall clock went back).
 */
export function createClockStepWatch(options: {
  wallMs: () => number;
  monotonicMs: () => number;
  toleranceMs: number;
  onStep: (stepMs: number) => void;
}): ClockStepWatch {
  const offset = (): number => options.wallMs() - options.monotonicMs();
  let lastOffsetMs = offset();
  return {
    check: () => {
      const offsetMs = offset();
      const stepMs = offsetMs - lastOffsetMs;
      lastOffsetMs = offsetMs;
      if (Math.abs(stepMs) > options.toleranceMs) options.onStep(stepMs);
    },
  };
}
