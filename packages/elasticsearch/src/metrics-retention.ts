import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { BulkItemsRejectedError, BulkItemsRetriableError, classifyElasticsearchError, isRetriableItemFailure } from './errors.ts';
import type { BulkItemFailure } from './errors.ts';

/** Hour documents found and deleted per round. */
const DELETE_PAGE_SIZE = 1_000;

/**
 * Deletes the hour documents whose window started before `cutoffMs` (the optional retention of
 * hour documents; day and all-time documents stay): a page of their ids at a time, searched and
 * deleted in one bulk request, until none is left. Not `_delete_by_query`: that lives in
 * Elasticsearch's `reindex` module, which a distribution may leave out (the local stack's has no
 * such handler, and every run with the retention set failed). Idempotent; a document already
 * gone is skipped.
 *
 * @returns the number of documents deleted.
 * @throws BulkItemsRetriableError or BulkItemsRejectedError when items fail (the run fails; the next one deletes them).
 */
export async function deleteHourDocumentsBefore(client: ElasticsearchClient, alias: string, cutoffMs: number): Promise<number> {
  const query = {
    bool: { filter: [{ term: { granularity: 'hour' } }, { range: { window_start: { lt: new Date(cutoffMs).toISOString() } } }] },
  };
  let deleted = 0;
  try {
    for (;;) {
      await client.driver.indices.refresh({ index: alias });
      const page = await client.driver.search({ index: alias, size: DELETE_PAGE_SIZE, _source: false, sort: ['_doc'], query });
      const ids = page.hits.hits.flatMap((hit) => (hit._id === undefined ? [] : [hit._id]));
      if (ids.length === 0) return deleted;
      const response = await client.driver.bulk({ index: alias, operations: ids.map((id) => ({ delete: { _id: id } })) });
      const failures: BulkItemFailure[] = [];
      for (const item of response.items) {
        const result = item.delete;
        if (result === undefined) continue;
        if (result.result === 'deleted') deleted += 1;
        else if (result.error !== undefined && result.status !== 404) {
          failures.push({ id: result._id ?? '', status: result.status, type: result.error.type, reason: result.error.reason ?? '' });
        }
      }
      if (failures.length > 0) {
        throw failures.every(isRetriableItemFailure) ? new BulkItemsRetriableError(failures) : new BulkItemsRejectedError(failures);
      }
    }
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}
