import type cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';

/** Yields every row of a prepared query page by page, so memory holds one page at a time. */
export async function* pagedRows(
  client: CassandraClient,
  query: string,
  params: unknown[],
  fetchSize = 5_000,
): AsyncGenerator<cassandra.types.Row> {
  let pageState: string | undefined;
  do {
    const result = await client.driver.execute(query, params, { prepare: true, fetchSize, ...(pageState ? { pageState } : {}) });
    yield* result.rows;
    pageState = result.pageState ?? undefined;
  } while (pageState);
}
