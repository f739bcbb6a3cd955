import type cassandra from 'cassandra-driver';
import type { Logger } from '@clickstream/observability';
import { GROUP_USERS_COUNT_ROW } from './aggregator-schema.ts';
import type { CassandraClient } from './cassandra-client.ts';
import { long, numberOf } from './long-values.ts';
import { pagedRows } from './paged-rows.ts';
import { copyCounter, tableExists } from './legacy-copy.ts';
import type { UsersCopied } from './legacy-copy.ts';

/** Users looked up per IN query, and written per single-partition batch. */
const USERS_PER_REQUEST = 250;

/**
 * Upgrades a keyspace written by the first version (v1), whose all-time users were one row per
 * user in `all_users` and counted with `COUNT(*)`: they are copied into `group_users` and its
 * stored count, then `all_users` is dropped. Without it every group's all-time unique users
 * would start again from zero, and a group with stored day totals but no stored users would look
 * new to the all-time pass.
 *
 * Each group's users are added as the aggregator adds them: only those not in the set yet, in
 * single-partition batches with the new count, so a group the aggregator of this version already
 * counted (a keyspace upgraded before this step existed) ends with the union counted once. Those
 * writes take a timestamp above the stored count's own, so the new count wins over it. Run it
 * before the aggregators start (the schema step does); an interrupted upgrade is run again from
 * the start (users already copied are found and not counted again); `all_users` is dropped only
 * after a complete copy.
 *
 * @param userStateTtlSeconds the TTL the copied users get (the aggregator's per-user state TTL; 0 = none).
 * @returns what was copied: (url, country) groups, and the users new to their all-time sets; zero
 *   groups when the keyspace has no `all_users`.
 */
export async function upgradeAllUsers(client: CassandraClient, userStateTtlSeconds: number, logger: Logger): Promise<UsersCopied> {
  const ks = client.keyspace;
  if (!(await tableExists(client, 'all_users'))) return { groups: 0, users: 0 };
  logger.info({ keyspace: ks }, 'copying all_users (v1 all-time users) into group_users; all_users is dropped afterwards');

  const execute = (query: string, params: unknown[]) => client.driver.execute(query, params, { prepare: true });
  const counter = copyCounter(logger, 'copying all_users into group_users');
  const { copied } = counter;
  /** The group being copied: its count so far, whether it had users before (then each user is looked up), the next write timestamp. */
  type GroupCopy = { urlKey: string; country: string; count: number; lookUp: boolean; at: cassandra.types.Long; userIds: string[] };

  const startGroup = async (urlKey: string, country: string): Promise<GroupCopy> => {
    const stored = (
      await execute(`SELECT users, WRITETIME(users) AS written FROM ${ks}.group_users WHERE url_key = ? AND country = ? LIMIT 1`, [
        urlKey,
        country,
      ])
    ).first();
    const storedUsers: unknown = stored?.get('users');
    const written = stored?.get('written') as cassandra.types.Long | null | undefined;
    const count = storedUsers === null || storedUsers === undefined ? 0 : numberOf(storedUsers);
    // Microseconds: past the stored count's write (a fenced one is far in the future, past 2^53: Long arithmetic), else now.
    const now = long(Date.now() * 1_000);
    const at = written === null || written === undefined || written.lessThan(now) ? now : written.add(1);
    return { urlKey, country, count, lookUp: count > 0, at, userIds: [] };
  };

  // A group's users go over a few at a time (a v1 group may hold millions): memory holds one page of rows and one batch.
  const copyUsers = async (group: GroupCopy): Promise<void> => {
    const { urlKey, country, userIds } = group;
    group.userIds = [];
    const known = new Set<string>();
    if (group.lookUp && userIds.length > 0) {
      const found = await execute(`SELECT user_id FROM ${ks}.group_users WHERE url_key = ? AND country = ? AND user_id IN ?`, [
        urlKey,
        country,
        userIds,
      ]);
      for (const row of found.rows) known.add(row.get('user_id') as string);
    }
    const fresh = userIds.filter((userId) => !known.has(userId));
    if (fresh.length === 0) return;
    group.count += fresh.length;
    const timestamp = group.at;
    group.at = group.at.add(1);
    const queries = [
      ...fresh.map((userId) => ({
        query: `INSERT INTO ${ks}.group_users (url_key, country, user_id) VALUES (?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
        params: [urlKey, country, userId, timestamp, userStateTtlSeconds],
      })),
      {
        query: `INSERT INTO ${ks}.group_users (url_key, country, user_id, users) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
        params: [urlKey, country, GROUP_USERS_COUNT_ROW, long(group.count), timestamp],
      },
    ];
    // One partition: the users and the count they make apply together.
    await client.driver.batch(queries, { prepare: true, logged: false });
    counter.users(fresh.length);
  };

  // The partition is the (url, country) and its rows are ordered by user: a group's users come one after another.
  let group: GroupCopy | undefined;
  for await (const row of pagedRows(client, `SELECT url_key, country, user_id FROM ${ks}.all_users`, [])) {
    const urlKey = row.get('url_key') as string;
    const country = row.get('country') as string;
    if (group === undefined || group.urlKey !== urlKey || group.country !== country) {
      if (group !== undefined) await copyUsers(group);
      group = await startGroup(urlKey, country);
      counter.group();
    }
    group.userIds.push(row.get('user_id') as string);
    if (group.userIds.length >= USERS_PER_REQUEST) await copyUsers(group);
  }
  if (group !== undefined) await copyUsers(group);
  await client.driver.execute(`DROP TABLE IF EXISTS ${ks}.all_users`);
  logger.info(copied, 'all_users copied into group_users and dropped');
  return copied;
}
