import type { Logger } from '@clickstream/observability';
import { chunkUserIds } from './hour-state.ts';
import type { CassandraClient } from './cassandra-client.ts';
import { pagedRows } from './paged-rows.ts';
import { copyCounter, tableExists } from './legacy-copy.ts';
import type { UsersCopied } from './legacy-copy.ts';

/** Groups whose chunks are written together (a round waits for all of them: a failure is never left unhandled). */
const GROUPS_IN_FLIGHT = 16;

/**
 * Upgrades a keyspace written before `hour_user_sets`: the hours' users kept one row per user in
 * `hour_users` are copied into `hour_user_sets` (a group's users as JSON chunks), then
 * `hour_users` is dropped. Without it a late event in an old day would roll that day up from
 * stored hours that have no users, and undercount the day's unique users.
 *
 * Safe beside a running aggregator of this version: the copies carry Cassandra's write times (the
 * client sends none), below every fenced write (see write-fence.ts), so a set the aggregator stored
 * meanwhile, or a group it deleted, wins over the copy. An interrupted upgrade is run again from
 * the start (the copies are idempotent); `hour_users` is dropped only after a complete copy.
 * Aggregators of the earlier version must be stopped first (they still write `hour_users`).
 *
 * @param userStateTtlSeconds the TTL the copies get (the aggregator's per-user state TTL; 0 = none).
 * @returns what was copied; zero groups when the keyspace has no `hour_users`.
 */
export async function upgradeHourUsers(client: CassandraClient, userStateTtlSeconds: number, logger: Logger): Promise<UsersCopied> {
  const ks = client.keyspace;
  if (!(await tableExists(client, 'hour_users'))) return { groups: 0, users: 0 };
  logger.info({ keyspace: ks }, 'copying hour_users (one row per user) into hour_user_sets; hour_users is dropped afterwards');

  const counter = copyCounter(logger, 'copying hour_users into hour_user_sets');
  const { copied } = counter;
  let writes: Promise<void>[] = [];
  const writeGroup = async (hour: Date, urlKey: string, country: string, userIds: readonly string[]): Promise<void> => {
    const chunks = chunkUserIds(userIds);
    const queries = chunks.map((users, chunk) =>
      chunk === 0
        ? {
            query: `INSERT INTO ${ks}.hour_user_sets (hour, url_key, country, chunk, users, chunks) VALUES (?, ?, ?, 0, ?, ?) USING TTL ?`,
            params: [hour, urlKey, country, users, chunks.length, userStateTtlSeconds],
          }
        : {
            query: `INSERT INTO ${ks}.hour_user_sets (hour, url_key, country, chunk, users) VALUES (?, ?, ?, ?, ?) USING TTL ?`,
            params: [hour, urlKey, country, chunk, users, userStateTtlSeconds],
          },
    );
    // One partition (the hour): chunk by chunk, so no batch nears the size thresholds.
    for (const { query, params } of queries) await client.driver.execute(query, params, { prepare: true });
  };
  const flush = async (group: { hour: Date; urlKey: string; country: string; userIds: string[] }): Promise<void> => {
    const write = writeGroup(group.hour, group.urlKey, group.country, group.userIds);
    // Handled here so a failure while the next page is read is not an unhandled rejection; the round's Promise.all still throws it.
    write.catch(() => undefined);
    writes.push(write);
    counter.group();
    counter.users(group.userIds.length);
    if (writes.length >= GROUPS_IN_FLIGHT) {
      await Promise.all(writes);
      writes = [];
    }
  };

  // The partition is the hour and the rows are ordered by (url_key, country, user_id), so a
  // group's users come one after another: memory holds one group at a time.
  let group: { hour: Date; urlKey: string; country: string; userIds: string[] } | undefined;
  for await (const row of pagedRows(client, `SELECT hour, url_key, country, user_id FROM ${ks}.hour_users`, [])) {
    const hour = row.get('hour') as Date;
    const urlKey = row.get('url_key') as string;
    const country = row.get('country') as string;
    if (group === undefined || group.hour.getTime() !== hour.getTime() || group.urlKey !== urlKey || group.country !== country) {
      if (group !== undefined) await flush(group);
      group = { hour, urlKey, country, userIds: [] };
    }
    group.userIds.push(row.get('user_id') as string);
  }
  if (group !== undefined) await flush(group);
  await Promise.all(writes);
  await client.driver.execute(`DROP TABLE IF EXISTS ${ks}.hour_users`);
  logger.info(copied, 'hour_users copied into hour_user_sets and dropped');
  return copied;
}
