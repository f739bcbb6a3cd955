/** The aggregator state of days: each day's (url, country) groups, and the marks of groups to roll up again. */
import type cassandra from 'cassandra-driver';
import { groupKey, inGroupSlice, isSelected, sameTotals } from '@clickstream/metrics';
import type { GroupRef, GroupSelection, GroupSlice, WindowGroup } from '@clickstream/metrics';
import { withClassifiedErrors } from './errors.ts';
import { long } from './long-values.ts';
import { pagedRows } from './paged-rows.ts';
import type { Statement } from './partition-batcher.ts';
import { replacementStatements, selectedGroups, totalsParams, windowGroupOf } from './state-requests.ts';
import type { GroupsPage, StateRequests } from './state-requests.ts';
import type { WriteFence } from './write-fence.ts';

/** The days' part of `AggregatorStateRepository` (aggregator-state.ts says what every write promises). */
export interface DayState {
  /**
   * The groups of the day `onlyGroups` selects (group keys, or a slice), or every group of it:
   * memory grows with them (a whole day of many pages is read a page at a time: {@link readDayTotals}).
   */
  readDay(dayMs: number, onlyGroups?: GroupSelection): Promise<WindowGroup[]>;
  /** A page of the day's groups, from `pageState` (the previous page's `next`), as `readHourTotals` of the hours' part. */
  readDayTotals(dayMs: number, pageState?: string): Promise<GroupsPage>;
  /** Replaces the day's groups (its day partition, in size-bounded batches); the per-(url, country) totals are the all-time part's (`replaceGroupDays`). */
  replaceDay(dayMs: number, next: readonly WindowGroup[], previous: readonly WindowGroup[], fence: WriteFence): Promise<void>;
  /**
   * The groups of a day marked ({@link markDayGroups}) after the day's state was last marked
   * stored ({@link markDayRolledUp}): their hour state may have changed without their day.
   * `undefined` when the day was never marked stored (a new day, or state from before these
   * marks): then nothing is known, and every group of a recomputed hour must be rolled up.
   * With `slice`, only the marked groups of that slice.
   */
  readDayMarks(dayMs: number, slice?: GroupSlice): Promise<Set<string> | undefined>;
  /** Marks groups of a day whose hour state is about to change (before any of it is stored). */
  markDayGroups(dayMs: number, groups: Iterable<GroupRef>, fence: WriteFence): Promise<void>;
  /** Marks the day's state stored: every group marked before is rolled up. */
  markDayRolledUp(dayMs: number, fence: WriteFence): Promise<void>;
  /** Every day with stored state, ascending (as `listStoredHours` of the hours' part). */
  listStoredDays(): Promise<number[]>;
}

export function createDayState({ client, ks, userTtl, executeInPartitionBatches, rows, groupRowsOf, groupsPage }: StateRequests): DayState {
  return {
    async readDay(dayMs, onlyGroups) {
      if (onlyGroups !== undefined && 'size' in onlyGroups && onlyGroups.size === 0) return [];
      const columns = 'url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users';
      const found: WindowGroup[] = [];
      await withClassifiedErrors(async () => {
        for await (const row of groupRowsOf(
          { table: 'day_groups', columns, partition: ['day', new Date(dayMs)] },
          selectedGroups(onlyGroups),
        )) {
          const group = windowGroupOf(row);
          if (isSelected(onlyGroups, group)) found.push(group);
        }
      });
      return found;
    },

    async readDayTotals(dayMs, pageState) {
      return groupsPage('day_groups', ['day', new Date(dayMs)], pageState);
    },

    async replaceDay(dayMs, next, previous, fence) {
      const day = new Date(dayMs);
      const at = fence.nextTimestamp();
      const statements = replacementStatements(next, previous, {
        unchanged: (stored, group) => sameTotals(stored, group) && stored.uniqueUsers === group.uniqueUsers,
        write: (group) => [
          {
            query: `INSERT INTO ${ks}.day_groups (day, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users)
              VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [day, group.urlKey, group.country, ...totalsParams(group), long(group.uniqueUsers), at],
          },
        ],
        remove: (stored) => [
          {
            query: `DELETE FROM ${ks}.day_groups USING TIMESTAMP ? WHERE day = ? AND url_key = ? AND country = ?`,
            params: [at, day, stored.urlKey, stored.country],
          },
        ],
      });
      await executeInPartitionBatches(statements);
    },

    async readDayMarks(dayMs, slice) {
      // Streamed, not collected: a day of many groups has as many rows (one per group ever marked).
      return withClassifiedErrors(async () => {
        let rolledUpAt: cassandra.types.Long | null | undefined;
        const marked = new Set<string>();
        const query = `SELECT url_key, country, marked_at, rolled_up_at FROM ${ks}.day_rollup_marks WHERE day = ?`;
        for await (const row of pagedRows(client, query, [new Date(dayMs)])) {
          rolledUpAt ??= row.get('rolled_up_at') as cassandra.types.Long | null;
          if (rolledUpAt === null) return undefined;
          const markedAt = row.get('marked_at') as cassandra.types.Long | null;
          // A partition with no group marked yet gives one row: its static column, nulls elsewhere.
          if (markedAt === null || !markedAt.greaterThan(rolledUpAt)) continue;
          const group = { urlKey: row.get('url_key') as string, country: row.get('country') as string };
          if (inGroupSlice(group, slice)) marked.add(groupKey(group));
        }
        return rolledUpAt === undefined ? undefined : marked;
      });
    },

    async markDayGroups(dayMs, groups, fence) {
      const day = new Date(dayMs);
      const at = fence.nextTimestamp();
      function* statements(): Generator<Statement> {
        for (const group of groups)
          yield {
            query: `INSERT INTO ${ks}.day_rollup_marks (day, url_key, country, marked_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
            params: [day, group.urlKey, group.country, at, at, userTtl],
          };
      }
      // One partition (the day): batched by size, drawn lazily.
      await executeInPartitionBatches(statements());
    },

    async markDayRolledUp(dayMs, fence) {
      const at = fence.nextTimestamp();
      await withClassifiedErrors(() =>
        client.driver.execute(
          `UPDATE ${ks}.day_rollup_marks USING TIMESTAMP ? AND TTL ? SET rolled_up_at = ? WHERE day = ?`,
          [at, userTtl, at, new Date(dayMs)],
          { prepare: true },
        ),
      );
    },

    async listStoredDays() {
      const found = await rows(`SELECT DISTINCT day FROM ${ks}.day_groups`, []);
      return found.map((row) => (row.get('day') as Date).getTime()).sort((a, b) => a - b);
    },
  };
}
