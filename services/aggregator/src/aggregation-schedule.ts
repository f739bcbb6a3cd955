/**
 * The aggregator's schedule: node-cron on AGGREGATOR_SCHEDULE (a tick while a run still goes is
 * skipped), watched for `/healthz`, and started again from the new time when the wall clock steps.
 */
import cron from 'node-cron';
import type { ServiceContext } from '@clickstream/lifecycle';
import type { Logger } from '@clickstream/observability';
import { createClockStepWatch } from './clock-step-watch.ts';
import { cronLogger } from './cron-logger.ts';
import { createScheduleWatchdog } from './schedule-watchdog.ts';

/** How late a scheduled firing may be before `/healthz` fails. */
const SCHEDULE_TOLERANCE_MS = 60_000;
/** How often the wall clock is compared with the monotonic one, and how far they may drift apart meanwhile. */
const CLOCK_CHECK_INTERVAL_MS = 1_000;
const CLOCK_STEP_TOLERANCE_MS = 1_000;

/**
 * Runs `run` on the cron `expression`, never two at once. Liveness fails while a firing is more
 * than a minute late (a skipped tick counts as firing). node-cron arms its timer for the
 * wall-clock delay to a firing it computed before, so a step of the clock (a step back stalled
 * it) restarts the schedule from the new time. Stopping: the schedule is the service's first drain.
 */
export function startAggregationSchedule(
  context: Pick<ServiceContext<never>, 'onDrain' | 'addLivenessCheck'>,
  options: { expression: string; run: () => Promise<unknown>; logger: Logger },
): void {
  const { expression, run, logger } = options;
  const task = cron.schedule(expression, run, { name: 'aggregation', noOverlap: true, logger: cronLogger(logger) });
  const watchdog = createScheduleWatchdog({
    nextRunMs: () => task.getNextRun()?.getTime() ?? null,
    nowMs: Date.now,
    toleranceMs: SCHEDULE_TOLERANCE_MS,
  });
  task.on('execution:started', () => watchdog.fired());
  task.on('execution:overlap', () => watchdog.fired());
  context.addLivenessCheck(() => watchdog.liveness());
  const clockSteps = createClockStepWatch({
    wallMs: Date.now,
    monotonicMs: () => performance.now(),
    toleranceMs: CLOCK_STEP_TOLERANCE_MS,
    onStep: (stepMs) => {
      logger.warn({ stepMs }, 'the wall clock stepped: aggregation schedule restarted from the new time');
      void task.stop();
      void task.start();
      watchdog.fired();
    },
  });
  const clockCheck = setInterval(() => clockSteps.check(), CLOCK_CHECK_INTERVAL_MS);
  clockCheck.unref();
  context.onDrain('schedule', () => {
    clearInterval(clockCheck);
    return task.destroy();
  });
}
