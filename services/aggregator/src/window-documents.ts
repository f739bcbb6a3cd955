import type { GroupTotals, WindowGroupState } from '@clickstream/cassandra';
import type { MetricWrite } from '@clickstream/elasticsearch';
import { buildMetricDocument, mergeTotals, metricDocumentId } from '@clickstream/metrics';

/** The numbers of one (window, url, country) document; unique users are exact. */
export type WindowGroup = WindowGroupState;

/** A (url, country). */
export type GroupRef = Pick<GroupTotals, 'urlKey' | 'country'>;

/**
 * The writes that make the alias hold exactly `groups` for one hour or day window: an index per
 * group, under its deterministic id, and a delete per group of `previousGroups` that is no
 * longer there. Pure.
 */
export function windowWrites(input: {
  granularity: 'hour' | 'day';
  windowStartMs: number;
  groups: readonly WindowGroup[];
  previousGroups: readonly GroupRef[];
  final: boolean;
  updatedAtMs: number;
}): MetricWrite[] {
  const { granularity, windowStartMs } = input;
  const present = new Set(input.groups.map(groupKey));
  const writes: MetricWrite[] = input.groups.map((group) => ({
    action: 'index',
    id: metricDocumentId(granularity, windowStartMs, group.urlKey, group.country),
    document: buildMetricDocument({
      granularity,
      windowStartMs,
      url: group.urlKey,
      country: group.country,
      clicks: group.clicks,
      uniqueUsers: group.uniqueUsers,
      uniqueUsersExact: true,
      timeSpentSumMs: group.timeSpentSumMs,
      timeSpentSamples: group.timeSpentSamples,
      final: input.final,
      updatedAtMs: input.updatedAtMs,
    }),
  }));
  for (const gone of input.previousGroups) {
    if (!present.has(groupKey(gone)))
      writes.push({ action: 'delete', id: metricDocumentId(granularity, windowStartMs, gone.urlKey, gone.country) });
  }
  return writes;
}

/**
 * The write of one (url, country)'s all-time document: the sums of its day totals and its exact
 * all-time distinct users; a delete when it has no day left. Never final. Pure.
 */
export function allTimeWrite(input: {
  group: GroupRef;
  days: readonly GroupTotals[];
  uniqueUsers: number;
  updatedAtMs: number;
}): MetricWrite {
  const { urlKey, country } = input.group;
  const id = metricDocumentId('all', null, urlKey, country);
  if (input.days.length === 0) return { action: 'delete', id };
  const totals = mergeTotals(input.days);
  return {
    action: 'index',
    id,
    document: buildMetricDocument({
      granularity: 'all',
      windowStartMs: null,
      url: urlKey,
      country,
      ...totals,
      uniqueUsers: input.uniqueUsers,
      uniqueUsersExact: true,
      final: false,
      updatedAtMs: input.updatedAtMs,
    }),
  };
}

/** A string identifying a (url, country), for maps and sets. */
export function groupKey(group: GroupRef): string {
  return JSON.stringify([group.urlKey, group.country]);
}
