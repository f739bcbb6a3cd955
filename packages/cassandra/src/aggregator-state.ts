import cassandra from 'cassandra-driver';
import { groupKey } from '@clickstream/metrics';
import type { GroupRef, GroupTotals, HourGroup, WindowGroup, WindowRef } from '@clickstream/metrics';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';
import type { WriteFence } from './write-fence.ts';

/** One day's totals of a (url, country). */
export type GroupDay = GroupTotals & { readonly dayMs: number };

/**
 * The aggregator's state in Cassandra. Replacing a window's state writes the difference between
 * what was read before (`previous`) and the new state, so replaying a replacement is harmless and
 * a (url, country) or user that left the window is removed, not left behind. Every write carries
 * a timestamp of the run's {@link WriteFence}, so a replica that lost its lease cannot overwrite
 * a newer holder's state. Transient failures throw CassandraUnavailableError (retry the call).
 */
export interface AggregatorStateRepository {
  /** Every group of the hour with its users; memory is one hour's distinct (group, user) pairs. */
  readHour(hourMs: number): Promise<HourGroup[]>;
  /** Every group of the hour with its number of distinct users (the users themselves are not read). */
  readHourTotals(hourMs: number): Promise<WindowGroup[]>;
  /** Replaces the hour's state by `next` (`previous` is what {@link readHour} gave). */
  replaceHour(hourMs: number, next: readonly HourGroup[], previous: readonly HourGroup[], fence: WriteFence): Promise<void>;
  /** Every group of the day. */
  readDay(dayMs: number): Promise<WindowGroup[]>;
  /** Replaces the day's state (both its day partition and the per-(url, country) day totals). */
  replaceDay(dayMs: number, next: readonly WindowGroup[], previous: readonly WindowGroup[], fence: WriteFence): Promise<void>;
  /** The day totals of one (url, country) over all time, one per day with counted events. */
  readGroupDays(group: GroupRef): Promise<GroupDay[]>;
  /**
   * Adds users to the all-time set of a (url, country) and returns its size after: only the
   * users not in the set yet are written, each chunk of them in one single-partition batch with
   * the new size, so the stored size always equals the stored set (a crash between chunks, or a
   * replay, counts nobody twice). Cost: the candidates, never the set's history.
   */
  addAllTimeUsers(group: GroupRef, userIds: ReadonlySet<string>, fence: WriteFence): Promise<number>;
  /** Exact number of distinct users ever counted for one (url, country): one stored number. */
  countAllTimeUsers(group: GroupRef): Promise<number>;
  listOpenWindows(): Promise<WindowRef[]>;
  markOpen(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
  markFinal(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
}

interface Statement {
  query: string;
  params: unknown[];
}

/** Candidates looked up per IN query, and new users written per batch (batches stay far below the 50 KiB default fail threshold). */
const LOOKUP_CHUNK = 500;
const BATCH_BYTES = 24 * 1024;

const sameTotals = (a: GroupTotals, b: GroupTotals): boolean =>
  a.clicks === b.clicks && a.timeSpentSumMs === b.timeSpentSumMs && a.timeSpentSamples === b.timeSpentSamples;

/**
 * @param options.userStateTtlSeconds TTL of the per-user rows (hour users, all-time users); 0 keeps them forever.
 */
export function createAggregatorStateRepository(
  client: CassandraClient,
  options: { concurrency: number; userStateTtlSeconds?: number },
): AggregatorStateRepository {
  const ks = client.keyspace;
  const userTtl = options.userStateTtlSeconds ?? 0;

  async function executeAll(statements: readonly Statement[]): Promise<void> {
    if (statements.length === 0) return;
    await withClassifiedErrors(() =>
      cassandra.concurrent.executeConcurrent(client.driver, [...statements], {
        concurrencyLevel: options.concurrency,
        raiseOnFirstError: true,
      }),
    );
  }

  /**
   * Statements of one partition (e.g. one hour's state) as unlogged batches of at most
   * {@link BATCH_BYTES}: one request per batch instead of one per row, each batch applied as one
   * mutation. Replaying a batch is harmless (every statement is an idempotent, fenced write).
   */
  async function executeInPartitionBatches(statements: readonly Statement[]): Promise<void> {
    const batches: Statement[][] = [];
    let batch: Statement[] = [];
    let bytes = 0;
    for (const statement of statements) {
      const size = 64 + statement.params.reduce<number>((sum, p) => sum + (typeof p === 'string' ? Buffer.byteLength(p) : 8), 0);
      if (batch.length > 0 && (bytes + size > BATCH_BYTES || batch.length >= 250)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(statement);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const queries = batches[next] ?? [];
        next += 1;
        await withClassifiedErrors(() => client.driver.batch(queries, { prepare: true, logged: false }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, batches.length) }, worker));
  }

  async function rows(query: string, params: unknown[]): Promise<cassandra.types.Row[]> {
    return withClassifiedErrors(async () => {
      const result: cassandra.types.Row[] = [];
      for await (const row of pagedRows(client, query, params)) result.push(row);
      return result;
    });
  }

  async function countAllTimeUsers(group: GroupRef): Promise<number> {
    return withClassifiedErrors(async () => {
      const result = await client.driver.execute(
        `SELECT users FROM ${ks}.group_users WHERE url_key = ? AND country = ? LIMIT 1`,
        [group.urlKey, group.country],
        { prepare: true },
      );
      const users: unknown = result.first()?.get('users');
      return users === null || users === undefined ? 0 : Number(users);
    });
  }

  const totalsOf = (row: cassandra.types.Row): GroupTotals => ({
    urlKey: row.get('url_key') as string,
    country: row.get('country') as string,
    clicks: Number(row.get('clicks')),
    timeSpentSumMs: Number(row.get('time_spent_sum_ms')),
    timeSpentSamples: Number(row.get('time_spent_samples')),
  });
  const windowGroupOf = (row: cassandra.types.Row): WindowGroup => ({
    ...totalsOf(row),
    uniqueUsers: Number(row.get('unique_users')),
  });
  const long = (value: number): cassandra.types.Long => cassandra.types.Long.fromNumber(value);

  return {
    async readHour(hourMs) {
      const hour = new Date(hourMs);
      const groupRows = await rows(
        `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples FROM ${ks}.hour_groups WHERE hour = ?`,
        [hour],
      );
      const users = new Map<string, Set<string>>(groupRows.map((row) => [groupKey(totalsOf(row)), new Set<string>()]));
      for (const row of await rows(`SELECT url_key, country, user_id FROM ${ks}.hour_users WHERE hour = ?`, [hour])) {
        const key = groupKey({ urlKey: row.get('url_key') as string, country: row.get('country') as string });
        users.get(key)?.add(row.get('user_id') as string);
      }
      return groupRows.map((row) => {
        const totals = totalsOf(row);
        return { ...totals, userIds: users.get(groupKey(totals)) ?? new Set<string>() };
      });
    },

    async readHourTotals(hourMs) {
      const found = await rows(
        `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users FROM ${ks}.hour_groups WHERE hour = ?`,
        [new Date(hourMs)],
      );
      return found.map(windowGroupOf);
    },

    async replaceHour(hourMs, next, previous, fence) {
      const hour = new Date(hourMs);
      const at = fence.nextTimestamp();
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      const statements: Statement[] = [];
      for (const group of next) {
        const old = before.get(groupKey(group));
        for (const userId of group.userIds) {
          if (old?.userIds.has(userId)) continue;
          statements.push({
            query: `INSERT INTO ${ks}.hour_users (hour, url_key, country, user_id) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
            params: [hour, group.urlKey, group.country, userId, at, userTtl],
          });
        }
        for (const userId of old?.userIds ?? []) {
          if (group.userIds.has(userId)) continue;
          statements.push({
            query: `DELETE FROM ${ks}.hour_users USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ? AND user_id = ?`,
            params: [at, hour, group.urlKey, group.country, userId],
          });
        }
        if (old === undefined || !sameTotals(old, group) || old.userIds.size !== group.userIds.size) {
          statements.push({
            query: `INSERT INTO ${ks}.hour_groups (hour, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users)
              VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [
              hour,
              group.urlKey,
              group.country,
              long(group.clicks),
              long(group.timeSpentSumMs),
              long(group.timeSpentSamples),
              long(group.userIds.size),
              at,
            ],
          });
        }
      }
      for (const group of previous) {
        if (after.has(groupKey(group))) continue;
        statements.push(
          {
            query: `DELETE FROM ${ks}.hour_users USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, group.urlKey, group.country],
          },
          {
            query: `DELETE FROM ${ks}.hour_groups USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, group.urlKey, group.country],
          },
        );
      }
      // One partition (the hour) for both tables: batched by size.
      await executeInPartitionBatches(statements);
    },

    async readDay(dayMs) {
      const found = await rows(
        `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users FROM ${ks}.day_groups WHERE day = ?`,
        [new Date(dayMs)],
      );
      return found.map(windowGroupOf);
    },

    async replaceDay(dayMs, next, previous, fence) {
      const day = new Date(dayMs);
      const at = fence.nextTimestamp();
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      const statements: Statement[] = [];
      for (const group of next) {
        const old = before.get(groupKey(group));
        if (old !== undefined && sameTotals(old, group) && old.uniqueUsers === group.uniqueUsers) continue;
        const sums = [long(group.clicks), long(group.timeSpentSumMs), long(group.timeSpentSamples)];
        statements.push(
          {
            query: `INSERT INTO ${ks}.day_groups (day, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users)
              VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [day, group.urlKey, group.country, ...sums, long(group.uniqueUsers), at],
          },
          {
            query: `INSERT INTO ${ks}.day_totals (url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [group.urlKey, group.country, day, ...sums, at],
          },
        );
      }
      for (const group of previous) {
        if (after.has(groupKey(group))) continue;
        statements.push(
          {
            query: `DELETE FROM ${ks}.day_groups USING TIMESTAMP ? WHERE day = ? AND url_key = ? AND country = ?`,
            params: [at, day, group.urlKey, group.country],
          },
          {
            query: `DELETE FROM ${ks}.day_totals USING TIMESTAMP ? WHERE url_key = ? AND country = ? AND day = ?`,
            params: [at, group.urlKey, group.country, day],
          },
        );
      }
      await executeAll(statements);
    },

    async readGroupDays(group) {
      const found = await rows(
        `SELECT url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples FROM ${ks}.day_totals WHERE url_key = ? AND country = ?`,
        [group.urlKey, group.country],
      );
      return found.map((row) => ({ ...totalsOf(row), dayMs: (row.get('day') as Date).getTime() }));
    },

    async addAllTimeUsers(group, userIds, fence) {
      const key = [group.urlKey, group.country];
      let count = await countAllTimeUsers(group);
      if (userIds.size === 0) return count;
      const candidates = [...userIds];
      const known = new Set<string>();
      // An empty set (a new group) has nothing to look up.
      for (let start = 0; count > 0 && start < candidates.length; start += LOOKUP_CHUNK) {
        const found = await rows(`SELECT user_id FROM ${ks}.group_users WHERE url_key = ? AND country = ? AND user_id IN ?`, [
          ...key,
          candidates.slice(start, start + LOOKUP_CHUNK),
        ]);
        for (const row of found) known.add(row.get('user_id') as string);
      }
      const fresh = candidates.filter((userId) => !known.has(userId));
      let chunk: string[] = [];
      let chunkBytes = 0;
      const flush = async (): Promise<void> => {
        if (chunk.length === 0) return;
        const at = fence.nextTimestamp();
        count += chunk.length;
        const queries = [
          ...chunk.map((userId) => ({
            query: `INSERT INTO ${ks}.group_users (url_key, country, user_id) VALUES (?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
            params: [...key, userId, at, userTtl],
          })),
          {
            query: `UPDATE ${ks}.group_users USING TIMESTAMP ? SET users = ? WHERE url_key = ? AND country = ?`,
            params: [at, long(count), ...key],
          },
        ];
        // One partition: the rows and the new size apply together or not at all.
        await withClassifiedErrors(() => client.driver.batch(queries, { prepare: true, logged: false }));
        chunk = [];
        chunkBytes = 0;
      };
      for (const userId of fresh) {
        chunk.push(userId);
        chunkBytes += Buffer.byteLength(userId) + 32;
        if (chunkBytes >= BATCH_BYTES) await flush();
      }
      await flush();
      return count;
    },

    countAllTimeUsers,

    async listOpenWindows() {
      const found = await rows(`SELECT granularity, window_start FROM ${ks}.open_windows WHERE shard = 0`, []);
      return found.map((row) => ({
        granularity: row.get('granularity') as 'hour' | 'day',
        windowStartMs: (row.get('window_start') as Date).getTime(),
      }));
    },

    async markOpen(windows, fence) {
      const at = fence.nextTimestamp();
      await executeAll(
        windows.map((w) => ({
          query: `INSERT INTO ${ks}.open_windows (shard, granularity, window_start) VALUES (0, ?, ?) USING TIMESTAMP ?`,
          params: [w.granularity, new Date(w.windowStartMs), at],
        })),
      );
    },

    async markFinal(windows, fence) {
      const at = fence.nextTimestamp();
      await executeAll(
        windows.map((w) => ({
          query: `DELETE FROM ${ks}.open_windows USING TIMESTAMP ? WHERE shard = 0 AND granularity = ? AND window_start = ?`,
          params: [at, w.granularity, new Date(w.windowStartMs)],
        })),
      );
    },
  };
}
