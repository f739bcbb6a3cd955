import type { estypes } from '@elastic/elasticsearch';
import type { MetricDocument } from '@clickstream/metrics';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { classifyElasticsearchError } from './errors.ts';
import type { Granularity, WindowRef } from '@clickstream/metrics';

/** The documents matching a question, and whether more matched than were returned. */
export interface MetricRows {
  readonly rows: MetricDocument[];
  readonly total: number;
}

/**
 * The documents of one url (url_key) at one granularity, optionally for one country and, for
 * hour/day, windows starting in [fromMs, toMs); ordered by window start, then country.
 * At most `limit` documents; `total` says how many matched.
 */
export async function searchMetrics(
  client: ElasticsearchClient,
  alias: string,
  question: { url: string; granularity: Granularity; country?: string; fromMs?: number; toMs?: number; limit: number },
): Promise<MetricRows> {
  const filter: estypes.QueryDslQueryContainer[] = [{ term: { url: question.url } }, { term: { granularity: question.granularity } }];
  if (question.country !== undefined) filter.push({ term: { country: question.country } });
  if (question.fromMs !== undefined || question.toMs !== undefined) {
    filter.push({
      range: {
        window_start: {
          ...(question.fromMs !== undefined ? { gte: new Date(question.fromMs).toISOString() } : {}),
          ...(question.toMs !== undefined ? { lt: new Date(question.toMs).toISOString() } : {}),
        },
      },
    });
  }
  return search(
    client,
    alias,
    { bool: { filter } },
    [{ window_start: { order: 'asc', missing: '_first' } }, { country: 'asc' }],
    question.limit,
  );
}

/** The `limit` groups with the most clicks at one granularity (all-time by default), most clicks first. */
export async function topMetrics(
  client: ElasticsearchClient,
  alias: string,
  question: { granularity?: Granularity; limit: number },
): Promise<MetricRows> {
  return search(
    client,
    alias,
    { term: { granularity: question.granularity ?? 'all' } },
    [{ clicks: 'desc' }, { url: 'asc' }, { country: 'asc' }],
    question.limit,
  );
}

async function search(
  client: ElasticsearchClient,
  alias: string,
  query: estypes.QueryDslQueryContainer,
  sort: estypes.Sort,
  limit: number,
): Promise<MetricRows> {
  try {
    const response = await client.driver.search<MetricDocument>({ index: alias, query, sort, size: limit, track_total_hits: true });
    const total = response.hits.total;
    return {
      rows: response.hits.hits.flatMap((hit) => (hit._source === undefined ? [] : [hit._source])),
      total: typeof total === 'number' ? total : (total?.value ?? 0),
    };
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}

/**
 * The hour and day windows with documents still marked not final although they ended before
 * `endedBeforeMs` (oldest first, at most `limit`): windows whose record of being open was lost
 * (the aggregator's `open_windows` truncated or restored), which no later run would otherwise
 * finalise. One aggregation request; none in the usual case.
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function windowsLeftNotFinal(
  client: ElasticsearchClient,
  alias: string,
  endedBeforeMs: number,
  limit: number,
): Promise<WindowRef[]> {
  try {
    const response = await client.driver.search({
      index: alias,
      size: 0,
      // A lost index (the alias gone) has no such windows: the run goes on and installs it again.
      ignore_unavailable: true,
      allow_no_indices: true,
      query: {
        bool: {
          filter: [
            { term: { final: false } },
            { terms: { granularity: ['hour', 'day'] } },
            { range: { window_end: { lt: new Date(endedBeforeMs).toISOString() } } },
          ],
        },
      },
      aggs: {
        windows: {
          composite: {
            size: limit,
            sources: [{ start: { terms: { field: 'window_start' } } }, { granularity: { terms: { field: 'granularity' } } }],
          },
        },
      },
    });
    const windows = response.aggregations?.windows as estypes.AggregationsCompositeAggregate | undefined;
    const buckets = (windows?.buckets ?? []) as estypes.AggregationsCompositeBucket[];
    return buckets.map((bucket) => ({
      granularity: bucket.key.granularity === 'day' ? 'day' : 'hour',
      windowStartMs: Number(bucket.key.start),
    }));
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}
