export type { MetricEvent } from './metric-event.ts';
export type { Granularity, WindowGranularity } from './windows.ts';
export {
  DAY_MS,
  DEFAULT_ALLOWED_LATENESS_MS,
  HOUR_MS,
  SESSION_GAP_MS,
  dayStartMs,
  hourStartMs,
  hoursAffectedBy,
  isFinal,
  windowEndMs,
} from './windows.ts';
export type { GroupRef, GroupTotals, HourGroup, MergeableTotals, WindowGroup, WindowRef } from './groups.ts';
export { groupKey, sameNumbers, sameTotals, sameUserIds, windowGroupOf, windowKey } from './groups.ts';
export type { CountedEvent, TimeSpentSource } from './time-spent.ts';
export { assignTimeSpent } from './time-spent.ts';
export type { HourAggregation } from './window-aggregates.ts';
export { aggregateHour, averageTimeSpentMs, createHourSliceMerger, mergeHourSlices, mergeTotals } from './window-aggregates.ts';
export { rollUpDay } from './day-rollup.ts';
export { CHARS_PER_UNIT, eventWeight, groupWeight } from './memory-weights.ts';
export type { GroupSelection, GroupSlice } from './group-slices.ts';
export { TooManyGroupsError, fnv1a32, groupHash, inGroupSlice, isSelected } from './group-slices.ts';
export type { MetricDocument, MetricDocumentInput } from './metric-document.ts';
export { buildMetricDocument, metricDocumentId } from './metric-document.ts';
export { compareCodePoints } from './ordering.ts';
