import { shortestEventsTtlSeconds } from '@clickstream/cassandra';
import type { EventsTtlHistory } from '@clickstream/cassandra';
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

/** How close an hour may come to leaving the events' retention and still be recomputed: an hour, far more than a run takes to read it. */
const EXPIRY_MARGIN_MS = 3_600_000;

/**
 * Plans a run from the pending hour markers and the open windows. Every day holding a pending
 * hour is recomputed (the all-time documents follow from the days), unless the hour started
 * longer ago than the retention of raw events less an hour: its documents stay as they are. Pure.
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
  /** Retention of an hour's raw events in ms (0: forever): older hours may have lost events and are not recomputed. */
  retentionMsOf?: (hourMs: number) => number;
}): RunPlan {
  // An hour's first events leave when it started a retention ago: one that close is not
  // recomputed, lest some expire between the plan and the read and lower its numbers.
  const retained = (hourMs: number): boolean => {
    const retentionMs = input.retentionMsOf?.(hourMs) ?? 0;
    return retentionMs === 0 || hourMs >= input.nowMs - retentionMs + EXPIRY_MARGIN_MS;
  };
  const hours = [...new Set(input.pendingHoursMs)].filter(retained).sort((a, b) => a - b);
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

/**
 * The retention (ms, 0: forever) of the events of the hour starting at `hourMs`: the configured
 * one, or the TTL its day's events may have been written with when that is shorter (a TTL raised
 * since, or a table the schema step has not altered to the configured one). Pure.
 */
export function eventsRetentionMsOf(configuredMs: number, ttl: EventsTtlHistory | undefined, hourMs: number): number {
  const ttlMs = ttl === undefined ? 0 : shortestEventsTtlSeconds(ttl, dayStartMs(hourMs)) * 1_000;
  if (configuredMs === 0 || ttlMs === 0) return configuredMs || ttlMs;
  return Math.min(configuredMs, ttlMs);
}
