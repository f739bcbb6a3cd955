import { dayStartMs, isFinal, windowKey } from '@clickstream/metrics';
import type { WindowRef } from '@clickstream/metrics';

/** A day to recompute, with those of its hours that have pending markers (ascending). */
export interface DayPlan {
  readonly dayMs: number;
  readonly hoursMs: readonly number[];
}

/** What one run does, in order: recompute these days (their pending hours first), then re-index these windows as final. */
export interface RunPlan {
  /** Ascending by day. */
  readonly days: readonly DayPlan[];
  /** Windows indexed as not final earlier, final now, and not recomputed by this run anyway. */
  readonly toFinalise: readonly WindowRef[];
}

/**
 * Plans a run from the pending hour markers and the open windows. Every day holding a pending
 * hour is recomputed (the all-time documents follow from the days), unless the hour started
 * before the retention of raw events: its documents stay as they are. Pure.
 *
 * @param pendingHoursMs starts of the pending hours; duplicates allowed.
 * @param nowMs the run's clock, epoch ms.
 * @param allowedLatenessMs see `isFinal`.
 */
export function planRun(input: {
  pendingHoursMs: readonly number[];
  openWindows: readonly WindowRef[];
  nowMs: number;
  allowedLatenessMs: number;
  /** Retention of raw events in ms (0: forever): older hours may have lost events and are not recomputed. */
  retentionMs?: number;
}): RunPlan {
  const oldestMs = input.retentionMs ? input.nowMs - input.retentionMs : Number.NEGATIVE_INFINITY;
  const hours = [...new Set(input.pendingHoursMs)].filter((hourMs) => hourMs >= oldestMs).sort((a, b) => a - b);
  const byDay = new Map<number, number[]>();
  for (const hourMs of hours) {
    const dayMs = dayStartMs(hourMs);
    byDay.set(dayMs, [...(byDay.get(dayMs) ?? []), hourMs]);
  }
  const recomputed = new Set(hours.map((hourMs) => windowKey({ granularity: 'hour', windowStartMs: hourMs })));
  for (const dayMs of byDay.keys()) recomputed.add(windowKey({ granularity: 'day', windowStartMs: dayMs }));
  const toFinalise = input.openWindows
    .filter((w) => !recomputed.has(windowKey(w)) && isFinal(w.granularity, w.windowStartMs, input.nowMs, input.allowedLatenessMs))
    .sort((a, b) => a.windowStartMs - b.windowStartMs || a.granularity.localeCompare(b.granularity));
  return { days: [...byDay].map(([dayMs, hoursMs]) => ({ dayMs, hoursMs })), toFinalise };
}
