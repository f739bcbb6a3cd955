import type { estypes } from '@elastic/elasticsearch';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { classifiedReadError, isIndexMissing } from './errors.ts';
import type { Granularity, WindowGranularity, WindowRef } from '@clickstream/metrics';

/** Restricts every dashboard question to one page (url_key) and/or one country; absent = all. */
export interface DashboardFilter {
  readonly url?: string | undefined;
  readonly country?: string | undefined;
}

/** Per-request limits: the dashboard answers within a deadline instead of the client's default. */
export interface DashboardRequestOptions {
  readonly timeoutMs: number;
}

/** Clicks of one hour or day window, summed over the (url, country) documents that match the filter. */
export interface ClicksPoint {
  /** Epoch milliseconds of the window start. */
  readonly windowStartMs: number;
  readonly clicks: number;
  /** Matching documents of this window that are still `final: false`. */
  readonly openGroups: number;
}

/**
 * Clicks per window (hour or day documents) for windows starting in [fromMs, toMs), one point per
 * window including the empty ones (0 clicks), oldest first. Summing the documents of a window over
 * urls and countries is exact for clicks (each counted event is in exactly one group).
 * Resolves with no points when the alias does not exist yet.
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function clicksPerWindow(
  client: ElasticsearchClient,
  alias: string,
  question: { granularity: WindowGranularity; fromMs: number; toMs: number; filter: DashboardFilter },
  options: DashboardRequestOptions,
): Promise<ClicksPoint[]> {
  const response = await searchAggregations(
    client,
    alias,
    {
      bool: {
        filter: [
          ...filterClauses(question.granularity, question.filter),
          { range: { window_start: { gte: question.fromMs, lt: question.toMs, format: 'epoch_millis' } } },
        ],
      },
    },
    {
      windows: {
        date_histogram: {
          field: 'window_start',
          ...(question.granularity === 'hour' ? { fixed_interval: '1h' } : { calendar_interval: '1d' }),
          time_zone: 'UTC',
          min_doc_count: 0,
          extended_bounds: { min: question.fromMs, max: question.toMs - 1 },
        },
        aggs: { clicks: { sum: { field: 'clicks' } }, open: { filter: { term: { final: false } } } },
      },
    },
    options,
  );
  const buckets = (response?.aggregations?.windows as estypes.AggregationsDateHistogramAggregate | undefined)?.buckets;
  const points = Array.isArray(buckets) ? buckets : [];
  return points.flatMap((bucket) => {
    const start = Number(bucket.key);
    if (start < question.fromMs || start >= question.toMs) return [];
    return [{ windowStartMs: start, clicks: sumOf(bucket, 'clicks'), openGroups: docCountOf(bucket, 'open') }];
  });
}

/** What a top list can be ordered by, most first. */
export type TopSort = 'clicks' | 'unique_users' | 'avg_time_spent_ms';

/** One row of a top list: the documents of one page (or one country) in the chosen window, summed. */
export interface TopRow {
  /** The url_key or the country. */
  readonly key: string;
  readonly clicks: number;
  /**
   * Sum of the documents' `unique_users`: exact when the row is one document (`groups` = 1),
   * otherwise an upper bound (a user seen in two of the summed groups counts twice).
   */
  readonly uniqueUsersSum: number;
  /** Whether every summed `unique_users` was exact (not a sketch estimate). */
  readonly uniqueUsersExact: boolean;
  readonly timeSpentSumMs: number;
  readonly timeSpentSamples: number;
  /** timeSpentSumMs / timeSpentSamples, or null without samples. */
  readonly avgTimeSpentMs: number | null;
  /** How many (url, country) documents the row sums. */
  readonly groups: number;
  /** How many of them are still `final: false`. */
  readonly openGroups: number;
}

/** A top list and the totals of everything that matched (not only the rows shown). */
/** Distinct keys a top list counts exactly (Elasticsearch's `cardinality` precision threshold); more are estimated. */
export const KEYS_COUNTED_EXACTLY = 3_000;

export interface TopList {
  readonly rows: TopRow[];
  /** Distinct pages or countries that matched (exact below {@link KEYS_COUNTED_EXACTLY}, then approximate). */
  readonly keys: number;
  /** Whether `keys` is exact; past {@link KEYS_COUNTED_EXACTLY} Elasticsearch estimates it (within a few per cent). */
  readonly keysExact: boolean;
  readonly totalClicks: number;
}

/**
 * The `limit` pages (`by: 'url'`) or countries (`by: 'country'`) of one window with the most
 * clicks, unique users or average time spent, summing the window's (url, country) documents per
 * row. Rows without time-spent samples come last by average. `windowStartMs` is null exactly for `all`. Ties are broken by key, ascending. Resolves with
 * no rows when the alias does not exist yet.
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function topOfWindow(
  client: ElasticsearchClient,
  alias: string,
  question: {
    by: 'url' | 'country';
    granularity: Granularity;
    windowStartMs: number | null;
    filter: DashboardFilter;
    sort: TopSort;
    limit: number;
  },
  options: DashboardRequestOptions,
): Promise<TopList> {
  const clauses = filterClauses(question.granularity, question.filter);
  if (question.windowStartMs !== null) clauses.push({ term: { window_start: question.windowStartMs } });
  // Clicks and users order the terms directly (an exact top list). By average, a first request
  // finds the order (keys without any time-spent sample have no average and come last), and the
  // main request sums exactly those keys.
  const ranked = question.sort === 'avg_time_spent_ms' ? await keysByAverage(client, alias, clauses, question, options) : undefined;
  // No key at all: nothing matched.
  if (ranked?.length === 0) return { rows: [], keys: 0, keysExact: true, totalClicks: 0 };
  const response = await searchAggregations(
    client,
    alias,
    { bool: { filter: clauses } },
    {
      rows: {
        terms: {
          field: question.by,
          ...(ranked === undefined
            ? {
                size: question.limit,
                // Enough candidates per shard that ordering by a sum stays right on multi-shard indices.
                shard_size: Math.max(question.limit * 5, 500),
                order: [{ [question.sort === 'clicks' ? 'clicks' : 'users']: 'desc' }, { _key: 'asc' }],
              }
            : { size: ranked.length, include: ranked }),
        },
        aggs: {
          clicks: { sum: { field: 'clicks' } },
          users: { sum: { field: 'unique_users' } },
          inexact: { filter: { term: { unique_users_exact: false } } },
          spent: { sum: { field: 'time_spent_sum_ms' } },
          samples: { sum: { field: 'time_spent_samples' } },
          open: { filter: { term: { final: false } } },
        },
      },
      keys: { cardinality: { field: question.by, precision_threshold: KEYS_COUNTED_EXACTLY } },
      clicks: { sum: { field: 'clicks' } },
    },
    options,
  );
  const aggregations = response?.aggregations;
  const buckets = (aggregations?.rows as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
  const rows = (Array.isArray(buckets) ? buckets : []).map((bucket): TopRow => {
    const samples = sumOf(bucket, 'samples');
    const spent = sumOf(bucket, 'spent');
    return {
      key: String(bucket.key),
      clicks: sumOf(bucket, 'clicks'),
      uniqueUsersSum: sumOf(bucket, 'users'),
      uniqueUsersExact: docCountOf(bucket, 'inexact') === 0,
      timeSpentSumMs: spent,
      timeSpentSamples: samples,
      avgTimeSpentMs: samples === 0 ? null : spent / samples,
      groups: bucket.doc_count,
      openGroups: docCountOf(bucket, 'open'),
    };
  });
  if (ranked !== undefined) rows.sort((x, y) => ranked.indexOf(x.key) - ranked.indexOf(y.key));
  const keys = (aggregations?.keys as estypes.AggregationsCardinalityAggregate | undefined)?.value ?? 0;
  return {
    rows,
    keys,
    keysExact: keys < KEYS_COUNTED_EXACTLY,
    totalClicks: (aggregations?.clicks as estypes.AggregationsSumAggregate | undefined)?.value ?? 0,
  };
}

/** The `limit` keys with the highest average time spent, then (if fewer) keys without samples, by key. */
async function keysByAverage(
  client: ElasticsearchClient,
  alias: string,
  clauses: estypes.QueryDslQueryContainer[],
  question: { by: 'url' | 'country'; limit: number },
  options: DashboardRequestOptions,
): Promise<string[]> {
  const response = await searchAggregations(
    client,
    alias,
    { bool: { filter: clauses } },
    {
      timed: {
        // Documents without samples add nothing to sum or samples, so the average over these is the row's.
        filter: { range: { time_spent_samples: { gt: 0 } } },
        aggs: {
          keys: {
            terms: {
              field: question.by,
              size: question.limit,
              shard_size: Math.max(question.limit * 5, 500),
              order: [{ avg_time: 'desc' }, { _key: 'asc' }],
            },
            // The samples-weighted average of the documents' averages is sum / samples.
            aggs: { avg_time: { weighted_avg: { value: { field: 'avg_time_spent_ms' }, weight: { field: 'time_spent_samples' } } } },
          },
        },
      },
      untimed: {
        terms: { field: question.by, size: question.limit, order: [{ samples: 'asc' }, { _key: 'asc' }] },
        aggs: { samples: { sum: { field: 'time_spent_samples' } } },
      },
    },
    options,
  );
  const timed = (response?.aggregations?.timed as (estypes.AggregationsFilterAggregate & Record<string, unknown>) | undefined)?.keys as
    estypes.AggregationsStringTermsAggregate | undefined;
  const untimed = (response?.aggregations?.untimed as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
  const keys = (Array.isArray(timed?.buckets) ? timed.buckets : []).map((bucket) => String(bucket.key));
  for (const bucket of Array.isArray(untimed) ? untimed : []) {
    if (sumOf(bucket, 'samples') === 0 && keys.length < question.limit) keys.push(String(bucket.key));
  }
  return keys;
}

/**
 * Start of the latest hour or day window that has a document matching the filter, or null when
 * there is none (or the alias does not exist yet).
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function latestWindowStartMs(
  client: ElasticsearchClient,
  alias: string,
  question: { granularity: WindowGranularity; filter: DashboardFilter },
  options: DashboardRequestOptions,
): Promise<number | null> {
  const response = await searchAggregations(
    client,
    alias,
    { bool: { filter: filterClauses(question.granularity, question.filter) } },
    { latest: { max: { field: 'window_start' } } },
    options,
  );
  return (response?.aggregations?.latest as estypes.AggregationsMaxAggregate | undefined)?.value ?? null;
}

/** A window that still has `final: false` documents: later aggregator runs may change it. */
export interface OpenWindow extends WindowRef {
  /** Its open (url, country) documents matching the filter. */
  readonly groups: number;
}

/**
 * Orders open windows latest start first. A day and its first hour start at the same instant
 * (between 01:00 and 02:00 UTC the open hour is 00:00): then the day comes first.
 */
export function latestWindowFirst(a: OpenWindow, b: OpenWindow): number {
  return b.windowStartMs - a.windowStartMs || a.granularity.localeCompare(b.granularity);
}

/** How fresh the numbers are. */
export interface MetricsFreshness {
  /** Latest `updated_at` of the matching documents: when an aggregator run last wrote them. Null without documents. */
  readonly lastUpdatedMs: number | null;
  /** Matching documents, all granularities. */
  readonly documents: number;
  /** Hour and day windows with open documents in {@link latestWindowFirst} order (at most `limit`). `all` is never final and is left out. */
  readonly openWindows: OpenWindow[];
  /** How many hour and day windows are open in all (may exceed `openWindows.length`). */
  readonly openWindowsTotal: number;
}

/**
 * When the matching documents were last written and which hour/day windows are still open.
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function metricsFreshness(
  client: ElasticsearchClient,
  alias: string,
  question: { filter: DashboardFilter; limit: number },
  options: DashboardRequestOptions,
): Promise<MetricsFreshness> {
  const response = await searchAggregations(
    client,
    alias,
    { bool: { filter: filterClauses(undefined, question.filter) } },
    {
      updated: { max: { field: 'updated_at' } },
      open: {
        filter: { bool: { filter: [{ term: { final: false } }, { terms: { granularity: ['hour', 'day'] } }] } },
        aggs: {
          granularities: {
            terms: { field: 'granularity', size: 2 },
            aggs: {
              windows: { terms: { field: 'window_start', size: question.limit, order: { _key: 'desc' } } },
              count: { cardinality: { field: 'window_start' } },
            },
          },
        },
      },
    },
    options,
    true,
  );
  const aggregations = response?.aggregations;
  const open = aggregations?.open as (estypes.AggregationsFilterAggregate & Record<string, unknown>) | undefined;
  const granularities = (open?.granularities as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
  const openWindows: OpenWindow[] = [];
  let openWindowsTotal = 0;
  for (const granularity of Array.isArray(granularities) ? granularities : []) {
    openWindowsTotal += (granularity.count as estypes.AggregationsCardinalityAggregate | undefined)?.value ?? 0;
    const windows = (granularity.windows as estypes.AggregationsLongTermsAggregate | undefined)?.buckets;
    for (const window of Array.isArray(windows) ? windows : []) {
      openWindows.push({
        granularity: String(granularity.key) as OpenWindow['granularity'],
        windowStartMs: Number(window.key),
        groups: window.doc_count,
      });
    }
  }
  openWindows.sort(latestWindowFirst);
  const total = response?.hits.total;
  return {
    lastUpdatedMs: (aggregations?.updated as estypes.AggregationsMaxAggregate | undefined)?.value ?? null,
    documents: typeof total === 'number' ? total : (total?.value ?? 0),
    openWindows: openWindows.slice(0, question.limit),
    openWindowsTotal,
  };
}

function filterClauses(granularity: Granularity | undefined, filter: DashboardFilter): estypes.QueryDslQueryContainer[] {
  const clauses: estypes.QueryDslQueryContainer[] = [];
  if (granularity !== undefined) clauses.push({ term: { granularity } });
  if (filter.url !== undefined) clauses.push({ term: { url: filter.url } });
  if (filter.country !== undefined) clauses.push({ term: { country: filter.country } });
  return clauses;
}

async function searchAggregations(
  client: ElasticsearchClient,
  alias: string,
  query: estypes.QueryDslQueryContainer,
  aggs: Record<string, estypes.AggregationsAggregationContainer>,
  options: DashboardRequestOptions,
  countHits = false,
): Promise<estypes.SearchResponse | undefined> {
  try {
    return await client.driver.search(
      { index: alias, query, aggs, size: 0, track_total_hits: countHits },
      { requestTimeout: options.timeoutMs, maxRetries: 1 },
    );
  } catch (err) {
    // No alias yet: nothing has been aggregated, which the page shows as "no data yet".
    if (isIndexMissing(err)) return undefined;
    throw classifiedReadError(err, alias);
  }
}

/** A read's error as the dashboard tells it: a closed index apart (503, saying so), else as any Elasticsearch error. */
function sumOf(bucket: Record<string, unknown>, name: string): number {
  const aggregate = bucket[name] as estypes.AggregationsSumAggregate | undefined;
  return aggregate?.value ?? 0;
}

function docCountOf(bucket: Record<string, unknown>, name: string): number {
  const aggregate = bucket[name] as estypes.AggregationsFilterAggregate | undefined;
  return aggregate?.doc_count ?? 0;
}
