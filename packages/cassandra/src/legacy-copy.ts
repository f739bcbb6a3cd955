import type { Logger } from '@clickstream/observability';
import type { CassandraClient } from './cassandra-client.ts';

/** What an upgrade copied from a legacy table: groups, and users. */
export interface UsersCopied {
  readonly groups: number;
  readonly users: number;
}

const PROGRESS_EVERY_USERS = 100_000;

/** Whether the client's keyspace has a table of that name (a legacy table an upgrade copies from). */
export async function tableExists(client: CassandraClient, table: string): Promise<boolean> {
  const found = await client.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
    client.keyspace,
    table,
  ]);
  return found.rowLength > 0;
}

/** Counts what an upgrade copied, logging `message` with the counts every 100,000 users. */
export function copyCounter(logger: Logger, message: string): { readonly copied: UsersCopied; group(): void; users(added: number): void } {
  const copied = { groups: 0, users: 0 };
  return {
    copied,
    group() {
      copied.groups += 1;
    },
    users(added) {
      const before = copied.users;
      copied.users += added;
      if (Math.floor(copied.users / PROGRESS_EVERY_USERS) > Math.floor(before / PROGRESS_EVERY_USERS)) logger.info(copied, message);
    },
  };
}
