import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { classifyElasticsearchError } from './errors.ts';

/**
 * Deletes the hour documents whose window started before `cutoffMs` (the optional retention of
 * hour documents; day and all-time documents stay). Idempotent; documents changed meanwhile are
 * skipped rather than failing the call.
 *
 * @returns the number of documents deleted.
 */
export async function deleteHourDocumentsBefore(client: ElasticsearchClient, alias: string, cutoffMs: number): Promise<number> {
  try {
    const response = await client.driver.deleteByQuery({
      index: alias,
      conflicts: 'proceed',
      refresh: false,
      query: {
        bool: {
          filter: [{ term: { granularity: 'hour' } }, { range: { window_start: { lt: new Date(cutoffMs).toISOString() } } }],
        },
      },
    });
    return response.deleted ?? 0;
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}
