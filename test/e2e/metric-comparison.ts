/**
 * Helpers of the end-to-end checks: reads back every metric document of an alias and compares
 * them, field by field, with the reference computation (test/reference), which shares no code
 * with the aggregator. Exact: no tolerance (all-time unique users are exact too).
 */
import type { GeneratedClick } from '@clickstream/clickgen';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { metricDocumentId } from '@clickstream/metrics';
import type { MetricDocument } from '@clickstream/metrics';
import { computeReferenceMetrics, referenceKey } from '../reference/reference-metrics.ts';
import type { ReferenceDocument, ReferenceEvent, ReferenceGranularity } from '../reference/reference-metrics.ts';

/** A metric document as read back from Elasticsearch, with its id. */
export type StoredMetricDocument = MetricDocument & { readonly _id: string };

/** The reference's view of a generated click: what ingest should have stored for it. */
export function toReferenceEvent(click: GeneratedClick): ReferenceEvent {
  return {
    eventId: click.eventId,
    userId: click.userId,
    sessionId: click.sessionId,
    eventTimeMs: click.eventTimeMs,
    urlKey: click.expected.urlKey,
    country: click.expected.country,
    timeSpentMs: click.timeSpentMs,
    isBot: click.expected.isBot,
  };
}

/** Every document behind `alias`, after a refresh, in no particular order. */
export async function readAllMetricDocuments(es: ElasticsearchClient, alias: string): Promise<StoredMetricDocument[]> {
  await es.driver.indices.refresh({ index: alias });
  const documents: StoredMetricDocument[] = [];
  for await (const hit of es.driver.helpers.scrollSearch<Omit<StoredMetricDocument, '_id'>>({
    index: alias,
    size: 5_000,
    query: { match_all: {} },
  })) {
    for (const document of hit.body.hits.hits) {
      if (document._source !== undefined) documents.push({ ...document._source, _id: document._id ?? '' });
    }
  }
  return documents;
}

/**
 * Compares the stored documents with the reference documents of `events`: the same set of
 * (granularity, window, url, country), no duplicates, the deterministic ids, the same numbers,
 * exact uniques, and hour/day windows final exactly when they ended at least 40 minutes (10
 * minutes of allowed lateness plus the 30-minute look-ahead) before `runAtMs`, the time of the
 * run that wrote them (by default each document's `updated_at`).
 *
 * @returns the number of documents compared and a description of each mismatch (empty when equal).
 */
export function compareWithReference(
  stored: readonly StoredMetricDocument[],
  events: readonly ReferenceEvent[],
  runAtMs?: number,
): { compared: number; byGranularity: Record<ReferenceGranularity, number>; mismatches: string[] } {
  const reference = computeReferenceMetrics(events);
  const expected = new Map<string, ReferenceDocument>(
    reference.map((d) => [referenceKey(d.granularity, d.windowStartMs, d.url, d.country), d]),
  );
  const mismatches: string[] = [];
  const seen = new Set<string>();
  const byGranularity: Record<ReferenceGranularity, number> = { hour: 0, day: 0, all: 0 };
  for (const doc of stored) {
    const windowStartMs = doc.window_start === null ? null : Date.parse(doc.window_start);
    const key = referenceKey(doc.granularity, windowStartMs, doc.url, doc.country);
    if (seen.has(key)) mismatches.push(`duplicate document ${key}`);
    seen.add(key);
    const want = expected.get(key);
    if (want === undefined) {
      mismatches.push(`unexpected document ${key}`);
      continue;
    }
    byGranularity[doc.granularity] += 1;
    const lengthMs = doc.granularity === 'hour' ? 3_600_000 : 86_400_000;
    const endMs = windowStartMs === null ? null : windowStartMs + lengthMs;
    const expectedFields = {
      _id: metricDocumentId(want.granularity, want.windowStartMs, want.url, want.country),
      window_end: endMs === null ? null : new Date(endMs).toISOString(),
      clicks: want.clicks,
      unique_users: want.uniqueUsers,
      unique_users_exact: true,
      time_spent_sum_ms: want.timeSpentSumMs,
      time_spent_samples: want.timeSpentSamples,
      avg_time_spent_ms: want.avgTimeSpentMs,
      final: endMs !== null && endMs + 40 * 60_000 <= (runAtMs ?? Date.parse(doc.updated_at)),
    };
    for (const [field, value] of Object.entries(expectedFields)) {
      const actual = doc[field as keyof StoredMetricDocument];
      if (actual !== value) mismatches.push(`${key}: ${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`);
    }
  }
  for (const key of expected.keys()) if (!seen.has(key)) mismatches.push(`missing document ${key}`);
  return { compared: stored.length, byGranularity, mismatches };
}
