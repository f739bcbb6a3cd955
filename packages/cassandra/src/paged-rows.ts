import type cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';

/** Rows a page holds by default: a page of a window's groups is also what the aggregator indexes at once. */
export const PAGE_ROWS = 5_000;

/**
 * One page of a prepared query's rows, from `pageState` (a previous page's `next`; a retry of a
 * page passes the same one again); `next` is undefined after the last page.
 */
export async function rowsPage(
  client: CassandraClient,
  query: string,
  params: unknown[],
  pageState: string | undefined,
  fetchSize = PAGE_ROWS,
): Promise<{ rows: cassandra.types.Row[]; next: string | undefined }> {
  const result = await client.driver.execute(query, params, { prepare: true, fetchSize, ...(pageState ? { pageState } : {}) });
  return { rows: result.rows, next: result.pageState ?? undefined };
}

/** Yields every row of a prepared query page by page, so memory holds one page at a time. */
export async function* pagedRows(
  client: CassandraClient,
  query: string,
  params: unknown[],
  fetchSize = PAGE_ROWS,
): AsyncGenerator<cassandra.types.Row> {
  let pageState: string | undefined;
  do {
    const page = await rowsPage(client, query, params, pageState, fetchSize);
    yield* page.rows;
    pageState = page.next;
  } while (pageState !== undefined);
}
