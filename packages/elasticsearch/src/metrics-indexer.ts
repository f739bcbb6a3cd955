import type { estypes } from '@elastic/elasticsearch';
import type { MetricDocument } from '@clickstream/metrics';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import type { BulkItemFailure } from './errors.ts';
import { BulkItemsRejectedError, BulkItemsRetriableError, classifyElasticsearchError, isRetriableItemStatus } from './errors.ts';

/**
 * One change to the metrics alias: (over)write a document under its deterministic id, or delete
 * it. With a `version` (a fencing version: larger for each newer lease grant), Elasticsearch
 * refuses the write (409, a rejected item) when the document already has a larger version.
 */
export type MetricWrite = (
  { readonly action: 'index'; readonly id: string; readonly document: MetricDocument } | { readonly action: 'delete'; readonly id: string }
) & { readonly version?: number };

export interface MetricsIndexer {
  /**
   * Applies the writes in bulk requests of at most `bulkSize` items. Every item's result is
   * checked: items that failed for a passing reason (429, 5xx, connection trouble) are sent again
   * with backoff, alone, up to the retry policy's attempts. Idempotent: an `index` overwrites the
   * document of its id and deleting a missing document counts as done.
   *
   * @returns the number of documents indexed and deleted.
   * @throws BulkItemsRejectedError when an item is refused for good (e.g. a mapping conflict).
   * @throws RetriesExhaustedError when items still fail after the last attempt.
   */
  write(writes: readonly MetricWrite[], signal?: AbortSignal): Promise<{ indexed: number; deleted: number }>;
}

export function createMetricsIndexer(
  client: ElasticsearchClient,
  options: { alias: string; bulkSize: number; retry: RetryPolicy; onRetry?: (err: unknown, attempt: number, delayMs: number) => void },
): MetricsIndexer {
  async function writeChunk(chunk: readonly MetricWrite[], signal: AbortSignal | undefined): Promise<void> {
    let pending = chunk;
    await retryWithBackoff(
      `bulk write of ${chunk.length} metric documents`,
      async () => {
        signal?.throwIfAborted();
        const outcome = await sendBulk(client, options.alias, pending);
        if (outcome.rejected.length > 0) throw new BulkItemsRejectedError(outcome.rejected);
        if (outcome.retriable.length > 0) {
          // Only the failed items go again: the others are done and need no second write.
          pending = outcome.retriable.map((failed) => failed.write);
          throw new BulkItemsRetriableError(outcome.retriable.map((failed) => failed.failure));
        }
      },
      options.retry,
      { ...(options.onRetry ? { onRetry: options.onRetry } : {}), ...(signal ? { signal } : {}) },
    );
  }

  return {
    async write(writes, signal) {
      for (let start = 0; start < writes.length; start += options.bulkSize) {
        await writeChunk(writes.slice(start, start + options.bulkSize), signal);
      }
      const deleted = writes.filter((w) => w.action === 'delete').length;
      return { indexed: writes.length - deleted, deleted };
    },
  };
}

interface BulkOutcome {
  readonly retriable: { readonly write: MetricWrite; readonly failure: BulkItemFailure }[];
  readonly rejected: BulkItemFailure[];
}

/** Sends one bulk request and sorts the failed items (if any) into retriable and rejected. */
async function sendBulk(client: ElasticsearchClient, alias: string, writes: readonly MetricWrite[]): Promise<BulkOutcome> {
  const operations: (estypes.BulkOperationContainer | MetricDocument)[] = [];
  for (const w of writes) {
    const target = {
      _index: alias,
      _id: w.id,
      ...(w.version === undefined ? {} : { version: w.version, version_type: 'external_gte' as const }),
    };
    if (w.action === 'index') operations.push({ index: target }, w.document);
    else operations.push({ delete: target });
  }
  let response;
  try {
    response = await client.driver.bulk({ operations });
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
  const outcome: BulkOutcome = { retriable: [], rejected: [] };
  if (!response.errors) return outcome;
  response.items.forEach((item, position) => {
    const result = item.index ?? item.delete;
    const write = writes[position];
    if (result === undefined || write === undefined) throw new Error(`bulk response item ${position} does not match the request`);
    const alreadyDeleted = write.action === 'delete' && result.status === 404;
    if (result.error === undefined || alreadyDeleted) return;
    const failure = { id: write.id, status: result.status, type: result.error.type, reason: result.error.reason ?? '' };
    if (isRetriableItemStatus(result.status)) outcome.retriable.push({ write, failure });
    else outcome.rejected.push(failure);
  });
  return outcome;
}
