/** The aggregator state of hours: each hour's (url, country) groups with their users. */
import cassandra from 'cassandra-driver';
import { groupKey, isSelected, sameTotals, sameUserIds } from '@clickstream/metrics';
import type { GroupSelection, HourGroup } from '@clickstream/metrics';
import { withClassifiedErrors } from './errors.ts';
import { long } from './long-values.ts';
import type { Statement } from './partition-batcher.ts';
import { refOf, replacementStatements, selectedGroups, totalsOf, totalsParams } from './state-requests.ts';
import type { GroupsPage, StateRequests } from './state-requests.ts';
import type { WriteFence } from './write-fence.ts';

/** Characters of user ids per stored chunk of an hour group's users (a chunk fits a batch far below the 50 KiB fail threshold). */
const CHUNK_CHARS = 16 * 1024;

/**
 * A set of user ids as JSON arrays of at most ~{@link CHUNK_CHARS} characters each (one id longer
 * than that is a chunk of its own); at least one chunk, `[]` for no users. Pure.
 */
export function chunkUserIds(userIds: Iterable<string>, maxChars = CHUNK_CHARS): string[] {
  const chunks: string[] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const userId of userIds) {
    if (chunk.length > 0 && chars + userId.length > maxChars) {
      chunks.push(JSON.stringify(chunk));
      chunk = [];
      chars = 0;
    }
    chunk.push(userId);
    chars += userId.length + 3;
  }
  if (chunk.length > 0 || chunks.length === 0) chunks.push(JSON.stringify(chunk));
  return chunks;
}

/** The hours' part of `AggregatorStateRepository` (aggregator-state.ts says what every write promises). */
export interface HourState {
  /**
   * Every group of the hour with its users, or only the groups `onlyGroups` selects (group keys,
   * or a slice; the others' users are not parsed); memory is the selected groups' distinct (group, user) pairs.
   */
  readHour(hourMs: number, onlyGroups?: GroupSelection): Promise<HourGroup[]>;
  /**
   * A page of the hour's groups with their number of distinct users (the users themselves are not
   * read), from `pageState` (the previous page's `next`): an hour of any number of groups is
   * finalised or indexed again a page at a time.
   */
  readHourTotals(hourMs: number, pageState?: string): Promise<GroupsPage>;
  /** Replaces the hour's state by `next` (`previous` is what {@link readHour} gave). */
  replaceHour(hourMs: number, next: readonly HourGroup[], previous: readonly HourGroup[], fence: WriteFence): Promise<void>;
  /** Every hour with stored state, ascending (a scan of the table's partitions: for a rare full republish). */
  listStoredHours(): Promise<number[]>;
}

export function createHourState({ ks, userTtl, executeInPartitionBatches, rows, groupRowsOf, groupsPage }: StateRequests): HourState {
  return {
    async readHour(hourMs, onlyGroups) {
      const hour = new Date(hourMs);
      if (onlyGroups !== undefined && 'size' in onlyGroups && onlyGroups.size === 0) return [];
      const selected = selectedGroups(onlyGroups);
      const read = (columns: string, table: string, only: cassandra.types.Tuple[] | undefined) =>
        groupRowsOf({ table, columns, partition: ['hour', hour] }, only);
      const groupRows: cassandra.types.Row[] = [];
      await withClassifiedErrors(async () => {
        for await (const row of read('url_key, country, clicks, time_spent_sum_ms, time_spent_samples', 'hour_groups', selected)) {
          if (isSelected(onlyGroups, refOf(row))) groupRows.push(row);
        }
      });
      // Selected groups: the users of those the hour has (a day's other hours hold few of a run's groups, many none).
      const withUsers = selected && groupRows.map((row) => new cassandra.types.Tuple(row.get('url_key'), row.get('country')));
      if (withUsers?.length === 0) return [];
      const users = new Map<string, { chunks: number; found: { chunk: number; users: string }[] }>(
        groupRows.map((row) => [groupKey(refOf(row)), { chunks: 0, found: [] }]),
      );
      await withClassifiedErrors(async () => {
        for await (const row of read('url_key, country, chunk, users, chunks', 'hour_user_sets', withUsers)) {
          const entry = users.get(groupKey(refOf(row)));
          if (entry === undefined) continue;
          const chunk = row.get('chunk') as number;
          if (chunk === 0) entry.chunks = (row.get('chunks') as number | null) ?? 1;
          entry.found.push({ chunk, users: row.get('users') as string });
        }
      });
      return groupRows.map((row) => {
        const totals = totalsOf(row);
        const entry = users.get(groupKey(totals));
        const userIds = new Set<string>();
        for (const { chunk, users: json } of entry?.found ?? []) {
          if (chunk < (entry?.chunks ?? 0)) for (const userId of JSON.parse(json) as string[]) userIds.add(userId);
        }
        return { ...totals, userIds };
      });
    },

    async readHourTotals(hourMs, pageState) {
      return groupsPage('hour_groups', ['hour', new Date(hourMs)], pageState);
    },

    async replaceHour(hourMs, next, previous, fence) {
      const hour = new Date(hourMs);
      const at = fence.nextTimestamp();
      const statements = replacementStatements(next, previous, {
        unchanged: (stored, group) => sameTotals(stored, group) && sameUserIds(stored.userIds, group.userIds),
        *write(group, stored): Generator<Statement> {
          if (stored === undefined || !sameUserIds(stored.userIds, group.userIds)) {
            const chunks = chunkUserIds(group.userIds);
            for (const [chunk, users] of chunks.entries()) {
              yield chunk === 0
                ? {
                    query: `INSERT INTO ${ks}.hour_user_sets (hour, url_key, country, chunk, users, chunks) VALUES (?, ?, ?, 0, ?, ?) USING TIMESTAMP ? AND TTL ?`,
                    params: [hour, group.urlKey, group.country, users, chunks.length, at, userTtl],
                  }
                : {
                    query: `INSERT INTO ${ks}.hour_user_sets (hour, url_key, country, chunk, users) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
                    params: [hour, group.urlKey, group.country, chunk, users, at, userTtl],
                  };
            }
          }
          yield {
            query: `INSERT INTO ${ks}.hour_groups (hour, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users)
              VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [hour, group.urlKey, group.country, ...totalsParams(group), long(group.userIds.size), at],
          };
        },
        remove: (stored) => [
          {
            query: `DELETE FROM ${ks}.hour_user_sets USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, stored.urlKey, stored.country],
          },
          {
            query: `DELETE FROM ${ks}.hour_groups USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, stored.urlKey, stored.country],
          },
        ],
      });
      // One partition (the hour) for both tables: batched by size, drawn lazily.
      await executeInPartitionBatches(statements);
    },

    async listStoredHours() {
      const found = await rows(`SELECT DISTINCT hour FROM ${ks}.hour_groups`, []);
      return found.map((row) => (row.get('hour') as Date).getTime()).sort((a, b) => a - b);
    },
  };
}
