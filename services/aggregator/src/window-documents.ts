import type { MetricWrite } from '@clickstream/elasticsearch';
import { buildMetricDocument, groupKey, metricDocumentId, sameNumbers } from '@clickstream/metrics';
import type { GroupRef, MergeableTotals, WindowGroup } from '@clickstream/metrics';
import type { WindowGranularity } from '@clickstream/metrics';

/**
 * The writes that make the alias hold exactly `groups` for one hour or day window, given that it
 * held `previousGroups` (as indexed by the last run): an index for each group whose numbers
 * changed (or every group when `reindexAll`, e.g. when the window turns final), under its
 * deterministic id, and a delete for each previous group that is no longer there. Unchanged
 * groups are not written. Pure; drawn lazily, so that a window of many groups never has all its
 * documents built at once (the caller indexes them a chunk at a time).
 */
export function* windowWrites(input: {
  granularity: WindowGranularity;
  windowStartMs: number;
  groups: readonly WindowGroup[];
  previousGroups: readonly WindowGroup[];
  reindexAll: boolean;
  final: boolean;
  updatedAtMs: number;
}): Generator<MetricWrite> {
  const { granularity, windowStartMs } = input;
  const before = new Map(input.previousGroups.map((group) => [groupKey(group), group]));
  for (const group of input.groups) {
    const old = before.get(groupKey(group));
    if (!input.reindexAll && old !== undefined && sameNumbers(old, group)) continue;
    yield {
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
    };
  }
  if (input.previousGroups.length === 0) return;
  const present = new Set(input.groups.map(groupKey));
  for (const gone of input.previousGroups) {
    if (!present.has(groupKey(gone)))
      yield { action: 'delete', id: metricDocumentId(granularity, windowStartMs, gone.urlKey, gone.country) };
  }
}

/**
 * The write of one (url, country)'s all-time document: the sums of its day totals and its exact
 * all-time distinct users; a delete when it has no day left. Never final. Pure.
 *
 * The stored all-time set only grows: a user whose clicks all left the group (a replayed event
 * stored under another user, url or country) stays in it. The true number is at most both that
 * count and the clicks, so the document shows the smaller, never an impossible one.
 */
export function allTimeWrite(input: {
  group: GroupRef;
  allTime: MergeableTotals & { readonly days: number };
  uniqueUsers: number;
  updatedAtMs: number;
}): MetricWrite {
  const { urlKey, country } = input.group;
  const id = metricDocumentId('all', null, urlKey, country);
  if (input.allTime.days <= 0) return { action: 'delete', id };
  const { clicks, timeSpentSumMs, timeSpentSamples } = input.allTime;
  const totals = { clicks, timeSpentSumMs, timeSpentSamples };
  return {
    action: 'index',
    id,
    document: buildMetricDocument({
      granularity: 'all',
      windowStartMs: null,
      url: urlKey,
      country,
      ...totals,
      uniqueUsers: Math.min(input.uniqueUsers, clicks),
      uniqueUsersExact: true,
      final: false,
      updatedAtMs: input.updatedAtMs,
    }),
  };
}
