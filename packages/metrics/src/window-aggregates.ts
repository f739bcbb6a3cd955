import { TooManyGroupsError, inGroupSlice } from './group-slices.ts';
import { groupWeight } from './memory-weights.ts';
import type { GroupSlice } from './group-slices.ts';
import type { HourGroup, MergeableTotals } from './groups.ts';
import type { MetricEvent } from './metric-event.ts';
import { compareCodePoints } from './ordering.ts';
import { visitCountedEvents } from './time-spent.ts';
import { HOUR_MS, hourStartMs } from './windows.ts';

/**
 * Computes the metrics of one UTC hour per (url, country).
 *
 * Counts the non-bot events, each `eventId` once, whose `eventTimeMs` lies in
 * [`windowStartMs`, `windowStartMs` + 1 h). Every other event (in practice the look-ahead
 * [end, end + 30 min)) only serves as a user's next event for time spent, which the spec
 * attributes to the earlier event's hour. See {@link visitCountedEvents} for the rules.
 *
 * @param events every stored event of the hour plus the look-ahead events; any order, duplicates
 *   allowed.
 * @param windowStartMs epoch milliseconds of a UTC hour start.
 * @param options only a slice of the groups, and a bound on how many are held.
 * @returns one aggregate per group with at least one counted event, ordered by url then country
 *   (code point order); the same events in any order give the same result.
 * @throws RangeError when `windowStartMs` is not the start of a UTC hour.
 * @throws TooManyGroupsError past `options.maxGroups` (groups weighed by {@link groupWeight}).
 */
export function aggregateHour(events: readonly MetricEvent[], windowStartMs: number, options: HourAggregation = {}): HourGroup[] {
  assertHourStart(windowStartMs);
  const { slice, maxGroups = Number.POSITIVE_INFINITY } = options;
  const windowEndMs = windowStartMs + HOUR_MS;
  const groupsByUrl = new Map<string, Map<string, GroupAccumulator>>();
  let held = 0;
  // One string per user for all of its groups (each stored event brings its own copy).
  const userIds = new Map<string, string>();

  visitCountedEvents(events, (event, { timeSpentMs }) => {
    if (event.eventTimeMs < windowStartMs || event.eventTimeMs >= windowEndMs) {
      return;
    }
    let groupsByCountry = groupsByUrl.get(event.urlKey);
    let group = groupsByCountry?.get(event.country);
    if (group === undefined) {
      if (!inGroupSlice(event, slice)) return;
      held += groupWeight(event);
      if (held > maxGroups) throw new TooManyGroupsError(maxGroups);
      group = { clicks: 0, userIds: new Set(), timeSpentSumMs: 0, timeSpentSamples: 0 };
      if (groupsByCountry === undefined) {
        groupsByCountry = new Map();
        groupsByUrl.set(event.urlKey, groupsByCountry);
      }
      groupsByCountry.set(event.country, group);
    }
    group.clicks += 1;
    let userId = userIds.get(event.userId);
    if (userId === undefined) {
      userId = event.userId;
      userIds.set(userId, userId);
    }
    group.userIds.add(userId);
    if (timeSpentMs !== null) {
      group.timeSpentSumMs += timeSpentMs;
      group.timeSpentSamples += 1;
    }
  });

  const aggregates: HourGroup[] = [];
  for (const [urlKey, groupsByCountry] of groupsByUrl) {
    for (const [country, group] of groupsByCountry) {
      aggregates.push({ urlKey, country, ...group });
    }
  }
  return aggregates.sort((a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country));
}

/** Which groups of an hour {@link aggregateHour} computes, and how many it may hold. */
export type HourAggregation = {
  /** Only the groups of this slice (every group without it); time spent still follows each user's every event. */
  readonly slice?: GroupSlice;
  /** Past groups of this much {@link groupWeight} in all, throws {@link TooManyGroupsError} instead of growing further. */
  readonly maxGroups?: number;
};

type GroupAccumulator = {
  clicks: number;
  userIds: Set<string>;
  timeSpentSumMs: number;
  timeSpentSamples: number;
};

/**
 * Sums the additive metrics of smaller windows (for example the hours of a day) into a larger
 * window's. Exact: every input and every total must be a non-negative safe integer, as the
 * document stores them as `long`.
 *
 * @returns zeros for no parts.
 * @throws RangeError when an input or a total is not a non-negative safe integer.
 */
export function mergeTotals(parts: readonly MergeableTotals[]): MergeableTotals {
  let clicks = 0;
  let timeSpentSumMs = 0;
  let timeSpentSamples = 0;
  for (const part of parts) {
    clicks += assertCount('clicks', part.clicks);
    timeSpentSumMs += assertCount('timeSpentSumMs', part.timeSpentSumMs);
    timeSpentSamples += assertCount('timeSpentSamples', part.timeSpentSamples);
  }
  return {
    clicks: assertCount('clicks total', clicks),
    timeSpentSumMs: assertCount('timeSpentSumMs total', timeSpentSumMs),
    timeSpentSamples: assertCount('timeSpentSamples total', timeSpentSamples),
  };
}

/**
 * Average time spent in milliseconds: `sumMs / samples`, or null when `samples` is 0.
 *
 * @throws RangeError when `samples` is not a non-negative safe integer.
 */
export function averageTimeSpentMs(sumMs: number, samples: number): number | null {
  return assertCount('timeSpentSamples', samples) === 0 ? null : sumMs / samples;
}

/** Returns `value` when it is a non-negative safe integer; throws a RangeError naming it otherwise. */
export function assertCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

function assertHourStart(startMs: number): void {
  if (hourStartMs(startMs) !== startMs) {
    throw new RangeError(`${startMs} is not the start of a UTC hour`);
  }
}

/**
 * Merges the aggregates of one hour computed over disjoint slices of its users (each slice with
 * all of its users' events) into the hour's aggregates: exact, since clicks, time spent and user
 * sets of different users add up. Pure.
 *
 * @returns one group per (url, country), ordered by url then country (code points).
 */
export function mergeHourSlices(slices: readonly (readonly HourGroup[])[]): HourGroup[] {
  if (slices.length === 1) return [...(slices[0] ?? [])];
  const merger = createHourSliceMerger();
  for (const slice of slices) merger.add(slice);
  return merger.result();
}

/**
 * {@link mergeHourSlices} one slice at a time: a slice can be dropped once added, so memory holds
 * the merged groups and one slice, not every slice at once.
 */
export function createHourSliceMerger(): { add(slice: readonly HourGroup[]): void; result(): HourGroup[]; readonly weight: number } {
  const groups = new Map<string, { urlKey: string; country: string; totals: MergeableTotals; userIds: Set<string> }>();
  let weight = 0;
  return {
    /** The {@link groupWeight} of the groups merged so far. */
    get weight() {
      return weight;
    },
    add(slice) {
      for (const group of slice) {
        const key = JSON.stringify([group.urlKey, group.country]);
        const merged = groups.get(key);
        if (merged === undefined) {
          groups.set(key, { urlKey: group.urlKey, country: group.country, totals: mergeTotals([group]), userIds: new Set(group.userIds) });
          weight += groupWeight(group);
          continue;
        }
        merged.totals = mergeTotals([merged.totals, group]);
        for (const userId of group.userIds) merged.userIds.add(userId);
      }
    },
    result() {
      return [...groups.values()]
        .map((group) => ({ urlKey: group.urlKey, country: group.country, ...group.totals, userIds: group.userIds }))
        .sort((a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country));
    },
  };
}
