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
 * such handler, and every run with the retention set failed). The bulk refreshes what it deleted
 * (the `write` privilege allows that; an index refresh needs `maintenance`), so the next search
 * no longer finds it; each delete names the index its hit came from (an alias may span several).
 * Idempotent; a document already gone is skipped, and a page of which nothing could be deleted
 * ends the call, so it cannot loop. A document indexed within the last second may be left to the
 * next call.
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
      const page = await client.driver.search({ index: alias, size: DELETE_PAGE_SIZE, _source: false, sort: ['_doc'], query });
      const operations = page.hits.hits.flatMap((hit) => (hit._id === undefined ? [] : [{ delete: { _index: hit._index, _id: hit._id } }]));
      if (operations.length === 0) return deleted;
      const response = await client.driver.bulk({ operations, refresh: true });
      const failures: BulkItemFailure[] = [];
      let deletedNow = 0;
      for (const item of response.items) {
        const result = item.delete;
        if (result === undefined) continue;
        if (result.result === 'deleted') deletedNow += 1;
        else if (result.error !== undefined && result.status !== 404) {
          failures.push({ id: result._id ?? '', status: result.status, type: result.error.type, reason: result.error.reason ?? '' });
        }
      }
      if (failures.length > 0) {
        throw failures.every(isRetriableItemFailure) ? new BulkItemsRetriableError(failures) : new BulkItemsRejectedError(failures);
      }
      deleted += deletedNow;
      if (deletedNow === 0) return deleted;
    }
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}
