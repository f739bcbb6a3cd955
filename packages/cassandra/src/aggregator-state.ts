import cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';

/** The additive metrics of one (window, url, country); sums in milliseconds. */
export interface GroupTotals {
  readonly urlKey: string;
  readonly country: string;
  readonly clicks: number;
  readonly timeSpentSumMs: number;
  readonly timeSpentSamples: number;
}

/** One (hour, url, country) as stored: its totals and its exact set of distinct users. */
export interface HourGroupState extends GroupTotals {
  readonly userIds: ReadonlySet<string>;
}

/** One (hour or day, url, country) as stored: totals and exact distinct users. */
export interface WindowGroupState extends GroupTotals {
  readonly uniqueUsers: number;
}

/** An hour or day window whose documents were indexed as not final. */
export interface OpenWindow {
  readonly granularity: 'hour' | 'day';
  readonly windowStartMs: number;
}

/**
 * The aggregator's state in Cassandra. Replacing a window's state writes the difference between
 * what was read before (`previous`) and the new state, so replaying a replacement is harmless and
 * a (url, country) or user that left the window is removed, not left behind.
 * Transient failures throw CassandraUnavailableError (retry the call).
 */
export interface AggregatorStateRepository {
  /** Every group of the hour with its users; memory is one hour's distinct (group, user) pairs. */
  readHour(hourMs: number): Promise<HourGroupState[]>;
  /** Every group of the hour with its number of distinct users (the users themselves are not read). */
  readHourTotals(hourMs: number): Promise<WindowGroupState[]>;
  /**
   * Replaces the hour's state by `next`. Users new to the hour are first added to the all-time
   * user sets, so a stored hour never counts a user the all-time set lacks.
   */
  replaceHour(hourMs: number, next: readonly HourGroupState[], previous: readonly HourGroupState[]): Promise<void>;
  /** Every group of the day. */
  readDay(dayMs: number): Promise<WindowGroupState[]>;
  /** Replaces the day's state (both its day partition and the per-(url, country) day totals). */
  replaceDay(dayMs: number, next: readonly WindowGroupState[], previous: readonly WindowGroupState[]): Promise<void>;
  /** The day totals of one (url, country) over all time, one per day with counted events. */
  readGroupDays(urlKey: string, country: string): Promise<GroupTotals[]>;
  /** Exact number of distinct users ever counted for one (url, country). */
  countAllUsers(urlKey: string, country: string): Promise<number>;
  listOpenWindows(): Promise<OpenWindow[]>;
  markOpen(windows: readonly OpenWindow[]): Promise<void>;
  markFinal(windows: readonly OpenWindow[]): Promise<void>;
}

interface Statement {
  query: string;
  params: unknown[];
}

const groupKey = (group: { urlKey: string; country: string }): string => JSON.stringify([group.urlKey, group.country]);
const sameTotals = (a: GroupTotals, b: GroupTotals): boolean =>
  a.clicks === b.clicks && a.timeSpentSumMs === b.timeSpentSumMs && a.timeSpentSamples === b.timeSpentSamples;

export function createAggregatorStateRepository(client: CassandraClient, options: { concurrency: number }): AggregatorStateRepository {
  const ks = client.keyspace;

  async function executeAll(statements: readonly Statement[]): Promise<void> {
    if (statements.length === 0) return;
    await withClassifiedErrors(() =>
      cassandra.concurrent.executeConcurrent(client.driver, [...statements], {
        concurrencyLevel: options.concurrency,
        raiseOnFirstError: true,
      }),
    );
  }

  async function rows(query: string, params: unknown[]): Promise<cassandra.types.Row[]> {
    return withClassifiedErrors(async () => {
      const result: cassandra.types.Row[] = [];
      for await (const row of pagedRows(client, query, params)) result.push(row);
      return result;
    });
  }

  const totalsOf = (row: cassandra.types.Row): GroupTotals => ({
    urlKey: row.get('url_key') as string,
    country: row.get('country') as string,
    clicks: Number(row.get('clicks')),
    timeSpentSumMs: Number(row.get('time_spent_sum_ms')),
    timeSpentSamples: Number(row.get('time_spent_samples')),
  });
  const windowGroupOf = (row: cassandra.types.Row): WindowGroupState => ({
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

    async replaceHour(hourMs, next, previous) {
      const hour = new Date(hourMs);
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      const addedUsers: Statement[] = [];
      const allUsers: Statement[] = [];
      const removed: Statement[] = [];
      const totals: Statement[] = [];
      for (const group of next) {
        const old = before.get(groupKey(group));
        for (const userId of group.userIds) {
          if (old?.userIds.has(userId)) continue;
          allUsers.push({
            query: `INSERT INTO ${ks}.all_users (url_key, country, user_id) VALUES (?, ?, ?)`,
            params: [group.urlKey, group.country, userId],
          });
          addedUsers.push({
            query: `INSERT INTO ${ks}.hour_users (hour, url_key, country, user_id) VALUES (?, ?, ?, ?)`,
            params: [hour, group.urlKey, group.country, userId],
          });
        }
        for (const userId of old?.userIds ?? []) {
          if (group.userIds.has(userId)) continue;
          removed.push({
            query: `DELETE FROM ${ks}.hour_users WHERE hour = ? AND url_key = ? AND country = ? AND user_id = ?`,
            params: [hour, group.urlKey, group.country, userId],
          });
        }
        if (old === undefined || !sameTotals(old, group) || old.userIds.size !== group.userIds.size) {
          totals.push({
            query: `INSERT INTO ${ks}.hour_groups (hour, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users) VALUES (?, ?, ?, ?, ?, ?, ?)`,
            params: [
              hour,
              group.urlKey,
              group.country,
              long(group.clicks),
              long(group.timeSpentSumMs),
              long(group.timeSpentSamples),
              long(group.userIds.size),
            ],
          });
        }
      }
      for (const group of previous) {
        if (after.has(groupKey(group))) continue;
        removed.push({
          query: `DELETE FROM ${ks}.hour_users WHERE hour = ? AND url_key = ? AND country = ?`,
          params: [hour, group.urlKey, group.country],
        });
        removed.push({
          query: `DELETE FROM ${ks}.hour_groups WHERE hour = ? AND url_key = ? AND country = ?`,
          params: [hour, group.urlKey, group.country],
        });
      }
      // All-time users before hour users: whatever an hour holds, the all-time set holds too.
      await executeAll(allUsers);
      await executeAll([...addedUsers, ...removed, ...totals]);
    },

    async readDay(dayMs) {
      const found = await rows(
        `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users FROM ${ks}.day_groups WHERE day = ?`,
        [new Date(dayMs)],
      );
      return found.map(windowGroupOf);
    },

    async replaceDay(dayMs, next, previous) {
      const day = new Date(dayMs);
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      const statements: Statement[] = [];
      for (const group of next) {
        const old = before.get(groupKey(group));
        if (old !== undefined && sameTotals(old, group) && old.uniqueUsers === group.uniqueUsers) continue;
        const sums = [long(group.clicks), long(group.timeSpentSumMs), long(group.timeSpentSamples)];
        statements.push(
          {
            query: `INSERT INTO ${ks}.day_groups (day, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users) VALUES (?, ?, ?, ?, ?, ?, ?)`,
            params: [day, group.urlKey, group.country, ...sums, long(group.uniqueUsers)],
          },
          {
            query: `INSERT INTO ${ks}.day_totals (url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples) VALUES (?, ?, ?, ?, ?, ?)`,
            params: [group.urlKey, group.country, day, ...sums],
          },
        );
      }
      for (const group of previous) {
        if (after.has(groupKey(group))) continue;
        statements.push(
          {
            query: `DELETE FROM ${ks}.day_groups WHERE day = ? AND url_key = ? AND country = ?`,
            params: [day, group.urlKey, group.country],
          },
          {
            query: `DELETE FROM ${ks}.day_totals WHERE url_key = ? AND country = ? AND day = ?`,
            params: [group.urlKey, group.country, day],
          },
        );
      }
      await executeAll(statements);
    },

    async readGroupDays(urlKey, country) {
      const found = await rows(
        `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples FROM ${ks}.day_totals WHERE url_key = ? AND country = ?`,
        [urlKey, country],
      );
      return found.map(totalsOf);
    },

    async countAllUsers(urlKey, country) {
      return withClassifiedErrors(async () => {
        const result = await client.driver.execute(
          `SELECT COUNT(*) AS n FROM ${ks}.all_users WHERE url_key = ? AND country = ?`,
          [urlKey, country],
          { prepare: true },
        );
        return Number(result.first()?.get('n') ?? 0);
      });
    },

    async listOpenWindows() {
      const found = await rows(`SELECT granularity, window_start FROM ${ks}.open_windows WHERE shard = 0`, []);
      return found.map((row) => ({
        granularity: row.get('granularity') as 'hour' | 'day',
        windowStartMs: (row.get('window_start') as Date).getTime(),
      }));
    },

    async markOpen(windows) {
      await executeAll(
        windows.map((w) => ({
          query: `INSERT INTO ${ks}.open_windows (shard, granularity, window_start) VALUES (0, ?, ?)`,
          params: [w.granularity, new Date(w.windowStartMs)],
        })),
      );
    },

    async markFinal(windows) {
      await executeAll(
        windows.map((w) => ({
          query: `DELETE FROM ${ks}.open_windows WHERE shard = 0 AND granularity = ? AND window_start = ?`,
          params: [w.granularity, new Date(w.windowStartMs)],
        })),
      );
    },
  };
}
