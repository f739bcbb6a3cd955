import type { WindowGranularity } from './windows.ts';
/** The additive part of a window's metrics: larger windows sum these exactly. */
export type MergeableTotals = {
  /** Number of counted events. */
  readonly clicks: number;
  /** Sum of the known time spent, in milliseconds. */
  readonly timeSpentSumMs: number;
  /** Number of counted events whose time spent is known. */
  readonly timeSpentSamples: number;
};

/** A (url_key, country): the group every metric document is about, within its window. */
export type GroupRef = {
  readonly urlKey: string;
  readonly country: string;
};

/** The additive metrics of one (window, url, country); sums in milliseconds. */
export type GroupTotals = GroupRef & MergeableTotals;

/**
 * The metrics of one (hour, url, country) group with its exact set of distinct users: what an
 * hour is aggregated into, what is stored per hour, and what a day is rolled up from.
 */
export type HourGroup = GroupTotals & {
  /** Distinct users of the counted events; its size is the exact unique users. */
  readonly userIds: ReadonlySet<string>;
};

/** The numbers of one (hour or day, url, country) document: totals and exact distinct users. */
export type WindowGroup = GroupTotals & {
  readonly uniqueUsers: number;
};

/** An hour or day window, by its start (epoch ms, UTC). */
export type WindowRef = {
  readonly granularity: WindowGranularity;
  readonly windowStartMs: number;
};

/**
 * A string identifying a (url, country), for maps and sets: JSON keeps the two fields apart
 * whatever characters they hold.
 */
export function groupKey(group: GroupRef): string {
  return JSON.stringify([group.urlKey, group.country]);
}

/** A string identifying a window, for maps and sets. */
export function windowKey(window: WindowRef): string {
  return `${window.granularity}:${window.windowStartMs}`;
}

/** Whether two groups' additive totals are equal (clicks, time-spent sum and samples). */
export function sameTotals(a: MergeableTotals, b: MergeableTotals): boolean {
  return a.clicks === b.clicks && a.timeSpentSumMs === b.timeSpentSumMs && a.timeSpentSamples === b.timeSpentSamples;
}

/** Whether two groups' document numbers are equal (totals and unique users). */
export function sameNumbers(a: WindowGroup, b: WindowGroup): boolean {
  return sameTotals(a, b) && a.uniqueUsers === b.uniqueUsers;
}

/** Whether two sets of user ids hold the same users. */
export function sameUserIds(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const userId of a) if (!b.has(userId)) return false;
  return true;
}

/** The document numbers of an hour group (its unique users are the size of its user set). */
export function windowGroupOf(group: HourGroup): WindowGroup {
  return {
    urlKey: group.urlKey,
    country: group.country,
    clicks: group.clicks,
    timeSpentSumMs: group.timeSpentSumMs,
    timeSpentSamples: group.timeSpentSamples,
    uniqueUsers: group.userIds.size,
  };
}
