import type { CassandraClient } from './cassandra-client.ts';

/** Whether the client's keyspace has a table of that name (a legacy table an upgrade copies from). */
export async function tableExists(client: CassandraClient, table: string): Promise<boolean> {
  const found = await client.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
    client.keyspace,
    table,
  ]);
  return found.rowLength > 0;
}
