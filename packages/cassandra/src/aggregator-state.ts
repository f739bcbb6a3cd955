import cassandra from 'cassandra-driver';
import { groupKey, inGroupSlice, isSelected, mergeTotals, sameTotals, sameUserIds } from '@clickstream/metrics';
import type {
  GroupRef,
  GroupSelection,
  GroupSlice,
  GroupTotals,
  HourGroup,
  MergeableTotals,
  WindowGroup,
  WindowRef,
} from '@clickstream/metrics';
import { DAY_TOTALS_SUMS, GROUP_USERS_COUNT_ROW } from './aggregator-schema.ts';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';
import type { WriteFence } from './write-fence.ts';
import { long, numberOf } from './long-values.ts';
import { createPartitionBatcher, statementBytes } from './partition-batcher.ts';
import type { Statement } from './partition-batcher.ts';
import type { WindowGranularity } from '@clickstream/metrics';

/** One day's totals of a (url, country). */
export type GroupDay = GroupTotals & { readonly dayMs: number };

/** A (url, country)'s totals summed over all its days, and how many days it has: its all-time numbers but users. */
export type GroupAllTime = MergeableTotals & { readonly days: number };

/** What a writer knows of a (url, country)'s stored all-time users. */
export interface KnownAllTimeUsers {
  /** The size this writer last stored. */
  readonly count: number;
  /**
   * The whole stored set, when this writer added every user it holds (a group it found empty):
   * the candidates are checked against it, and nobody is looked up.
   */
  readonly users?: ReadonlySet<string>;
}

/** Nothing counted yet. */
export const NO_DAYS: GroupAllTime = { days: 0, clicks: 0, timeSpentSumMs: 0, timeSpentSamples: 0 };

/**
 * The aggregator's state in Cassandra. Replacing a window's state writes the difference between
 * what was read before (`previous`) and the new state, so replaying a replacement is harmless and
 * a (url, country) or user that left the window is removed, not left behind. Every write carries
 * a timestamp of the run's {@link WriteFence}, so a replica that lost its lease cannot overwrite
 * a newer holder's state. Transient failures throw CassandraUnavailableError (retry the call).
 */
export interface AggregatorStateRepository {
  /**
   * Every group of the hour with its users, or only the groups `onlyGroups` selects (group keys,
   * or a slice; the others' users are not parsed); memory is the selected groups' distinct (group, user) pairs.
   */
  readHour(hourMs: number, onlyGroups?: GroupSelection): Promise<HourGroup[]>;
  /** Every group of the hour with its number of distinct users (the users themselves are not read). */
  readHourTotals(hourMs: number): Promise<WindowGroup[]>;
  /** Replaces the hour's state by `next` (`previous` is what {@link readHour} gave). */
  replaceHour(hourMs: number, next: readonly HourGroup[], previous: readonly HourGroup[], fence: WriteFence): Promise<void>;
  /** Every group of the day, or only those `onlyGroups` selects (group keys, or a slice). */
  readDay(dayMs: number, onlyGroups?: GroupSelection): Promise<WindowGroup[]>;
  /** Replaces the day's groups (its day partition, in size-bounded batches); the per-(url, country) totals are {@link replaceGroupDays}'. */
  replaceDay(dayMs: number, next: readonly WindowGroup[], previous: readonly WindowGroup[], fence: WriteFence): Promise<void>;
  /**
   * The all-time sums of one (url, country) and its stored totals of the given days (those it
   * has): what a run needs to move the sums by the days it changes, at a cost that does not grow
   * with the group's history. Sums stored by a version before them are summed from every day
   * once; `resum` sums them from every day in any case (sums the caller found impossible).
   * `probablyNew` (the group was in none of these days' stored state): its partition is looked
   * for first, one request when there is none (otherwise the days are, one request when one is
   * stored). Either way the answer is the same.
   */
  readGroupTotals(
    group: GroupRef,
    daysMs: readonly number[],
    options?: { readonly resum?: boolean; readonly probablyNew?: boolean },
  ): Promise<{ allTime: GroupAllTime; days: GroupDay[] }>;
  /**
   * Sets (or, for `totals: null`, deletes) some days' totals of one (url, country) and stores its
   * new all-time sums, in one single-partition batch (applied whole or not at all): the sums
   * always equal the stored days. Days too many for one batch go in several, the sums marked
   * unknown before and stored after them (a crash in between leaves them to be summed again).
   */
  replaceGroupDays(
    group: GroupRef,
    days: readonly { dayMs: number; totals: GroupTotals | null }[],
    allTime: GroupAllTime,
    fence: WriteFence,
  ): Promise<void>;
  /**
   * Adds users to the all-time set of a (url, country) and returns its size after: only the
   * users not in the set yet are written, each chunk of them with the new size as one mutation of
   * the group's partition (in a batch shared with other groups), so the stored size always equals
   * the stored set (a crash between chunks, or a replay, counts nobody twice). Cost: the
   * candidates, never the set's history.
   * `known`: what this writer knows of the stored set (saves reading it again).
   */
  addAllTimeUsers(group: GroupRef, userIds: ReadonlySet<string>, fence: WriteFence, known?: KnownAllTimeUsers): Promise<number>;
  /** Exact number of distinct users ever counted for one (url, country): one stored number. */
  countAllTimeUsers(group: GroupRef): Promise<number>;
  /** {@link countAllTimeUsers} of many groups, by group key: one request per url and up to {@link COUNT_COUNTRIES} of its countries. */
  countAllTimeUsersOf(groups: Iterable<GroupRef>): Promise<Map<string, number>>;
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
  listOpenWindows(): Promise<WindowRef[]>;
  /** The UUID of the index the stored windows were last published into under `alias` (undefined: never recorded). */
  readPublishedIndex(alias: string): Promise<string | undefined>;
  recordPublishedIndex(alias: string, indexUuid: string, fence: WriteFence): Promise<void>;
  /** Every hour with stored state, ascending (a scan of the table's partitions: for a rare full republish). */
  listStoredHours(): Promise<number[]>;
  /** Every day with stored state, ascending (as {@link listStoredHours}). */
  listStoredDays(): Promise<number[]>;
  /**
   * Every (url, country) with stored day totals (its all-time document), a page at a time, with its
   * stored all-time sums (`undefined` where they are unknown: read them with {@link readGroupTotals}).
   */
  allTimeGroupPages(pageSize: number): AsyncGenerator<{ group: GroupRef; allTime: GroupAllTime | undefined }[]>;
  markOpen(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
  markFinal(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
}

/** Candidates looked up per IN query, and new users written per batch (batches stay far below the 50 KiB default fail threshold). */
const LOOKUP_CHUNK = 500;
/** Countries of one url whose all-time counts one request reads (`IN` on the partition key's last column). */
const COUNT_COUNTRIES = 100;
/** Count requests whose result sets are held at once (see countAllTimeUsersOf). */
const COUNT_REQUESTS_COLLECTED = 1_000;
/** Up to this many groups, {@link AggregatorStateRepository.readHour} and `readDay` read only their rows (IN lists); past it, the whole partition. */
const SELECTED_GROUPS_MAX = 5_000;
const BATCH_BYTES = 24 * 1024;
/** Groups (partitions) whose writes share one unlogged batch at most: Cassandra warns past 10 by default. */
const GROUPS_PER_BATCH = 10;
/** Statements per unlogged batch at most (with {@link BATCH_BYTES}). */
const BATCH_STATEMENTS = 250;

/**
 * The (url_key, country) tuples of a few groups (by group key), for IN lists; `undefined` for all
 * groups, or for more than {@link SELECTED_GROUPS_MAX} (the whole partition is read, filtered by the caller).
 */
function selectedGroups(onlyGroups: GroupSelection | undefined): cassandra.types.Tuple[] | undefined {
  if (onlyGroups === undefined || 'slices' in onlyGroups || onlyGroups.size > SELECTED_GROUPS_MAX) return undefined;
  return [...onlyGroups].map((key) => {
    const [urlKey, country] = JSON.parse(key) as [string, string];
    return new cassandra.types.Tuple(urlKey, country);
  });
}

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

/**
 * @param options.userStateTtlSeconds TTL of the per-user rows (hour users, all-time users); 0 keeps them forever.
 */
export function createAggregatorStateRepository(
  client: CassandraClient,
  options: { concurrency: number; userStateTtlSeconds?: number },
): AggregatorStateRepository {
  const ks = client.keyspace;
  const userTtl = options.userStateTtlSeconds ?? 0;
  /** One request: a lone statement, or an unlogged batch. */
  async function send(statements: readonly Statement[]): Promise<void> {
    const [only] = statements;
    await withClassifiedErrors(() =>
      statements.length === 1 && only !== undefined
        ? client.driver.execute(only.query, only.params, { prepare: true })
        : client.driver.batch([...statements], { prepare: true, logged: false }),
    );
  }
  // A group's all-time users and its day totals: one partition each, many per request.
  const groupWrites = createPartitionBatcher({
    send,
    maxPartitions: GROUPS_PER_BATCH,
    maxBytes: BATCH_BYTES,
    concurrency: options.concurrency,
  });

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
   * The statements are drawn lazily by `concurrency` workers: memory holds the batches in flight,
   * never the whole list (an hour of 2M events has millions of (group, user) pairs).
   */
  async function executeInPartitionBatches(statements: Iterable<Statement>): Promise<void> {
    const source: Iterator<Statement, unknown> = statements[Symbol.iterator]();
    const pull = (): Statement | undefined => {
      const result = source.next();
      return result.done === true ? undefined : result.value;
    };
    let carried: Statement | undefined;
    let exhausted = false;
    const nextBatch = (): Statement[] => {
      const batch: Statement[] = [];
      let bytes = 0;
      while (!exhausted) {
        const statement = carried ?? pull();
        carried = undefined;
        if (statement === undefined) {
          exhausted = true;
          break;
        }
        const size = statementBytes(statement);
        if (batch.length > 0 && (bytes + size > BATCH_BYTES || batch.length >= BATCH_STATEMENTS)) {
          carried = statement;
          break;
        }
        batch.push(statement);
        bytes += size;
      }
      return batch;
    };
    const worker = async (): Promise<void> => {
      for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) await send(batch);
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  }

  async function rows(query: string, params: unknown[]): Promise<cassandra.types.Row[]> {
    return withClassifiedErrors(async () => {
      const result: cassandra.types.Row[] = [];
      for await (const row of pagedRows(client, query, params)) result.push(row);
      return result;
    });
  }

  /**
   * The rows of one partition of a table keyed by (url_key, country) within it: only the `selected`
   * groups' (IN lists), or all of them.
   */
  async function* groupRowsOf(
    from: { table: string; columns: string; partition: readonly [column: string, value: Date] },
    selected: readonly cassandra.types.Tuple[] | undefined,
  ): AsyncGenerator<cassandra.types.Row> {
    const [column, value] = from.partition;
    const query = `SELECT ${from.columns} FROM ${ks}.${from.table} WHERE ${column} = ?`;
    if (selected === undefined) {
      yield* pagedRows(client, query, [value]);
      return;
    }
    for (let start = 0; start < selected.length; start += LOOKUP_CHUNK)
      yield* pagedRows(client, `${query} AND (url_key, country) IN ?`, [value, selected.slice(start, start + LOOKUP_CHUNK)]);
  }

  async function countAllTimeUsers(group: GroupRef): Promise<number> {
    return (await countAllTimeUsersOf([group])).get(groupKey(group)) ?? 0;
  }

  const refOf = (row: cassandra.types.Row): GroupRef => ({ urlKey: row.get('url_key') as string, country: row.get('country') as string });

  async function countAllTimeUsersOf(groups: Iterable<GroupRef>): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const countriesOf = new Map<string, string[]>();
    for (const group of groups) {
      const key = groupKey(group);
      if (counts.has(key)) continue;
      counts.set(key, 0);
      const countries = countriesOf.get(group.urlKey) ?? [];
      countries.push(group.country);
      countriesOf.set(group.urlKey, countries);
    }
    const params = [...countriesOf].flatMap(([urlKey, countries]) =>
      Array.from({ length: Math.ceil(countries.length / COUNT_COUNTRIES) }, (_, i) => [
        urlKey,
        countries.slice(i * COUNT_COUNTRIES, (i + 1) * COUNT_COUNTRIES),
      ]),
    );
    // A request per url: the result sets are collected a chunk at a time, never one per url of
    // the run at once (100,000 distinct pages held 100,000 result sets).
    for (let start = 0; start < params.length; start += COUNT_REQUESTS_COLLECTED) {
      const { resultItems } = await withClassifiedErrors(() =>
        cassandra.concurrent.executeConcurrent(
          client.driver,
          `SELECT url_key, country, users FROM ${ks}.group_users WHERE url_key = ? AND country IN ? PER PARTITION LIMIT 1`,
          params.slice(start, start + COUNT_REQUESTS_COLLECTED),
          { concurrencyLevel: options.concurrency, raiseOnFirstError: true, collectResults: true },
        ),
      );
      // The driver types each collected result as `any`: they are the queries' result sets.
      for (const result of resultItems as cassandra.types.ResultSet[])
        for (const row of result.rows) {
          const users: unknown = row.get('users');
          counts.set(groupKey(refOf(row)), users === null || users === undefined ? 0 : numberOf(users));
        }
    }
    return counts;
  }

  const totalsOf = (row: cassandra.types.Row): GroupTotals => ({
    ...refOf(row),
    clicks: numberOf(row.get('clicks')),
    timeSpentSumMs: numberOf(row.get('time_spent_sum_ms')),
    timeSpentSamples: numberOf(row.get('time_spent_samples')),
  });
  const windowGroupOf = (row: cassandra.types.Row): WindowGroup => ({
    ...totalsOf(row),
    uniqueUsers: numberOf(row.get('unique_users')),
  });

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

    async readHourTotals(hourMs) {
      // Streamed into groups, not collected as rows first: an hour of many groups is finalised from this.
      const query = `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users FROM ${ks}.hour_groups WHERE hour = ?`;
      const found: WindowGroup[] = [];
      await withClassifiedErrors(async () => {
        for await (const row of pagedRows(client, query, [new Date(hourMs)])) found.push(windowGroupOf(row));
      });
      return found;
    },

    async replaceHour(hourMs, next, previous, fence) {
      const hour = new Date(hourMs);
      const at = fence.nextTimestamp();
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      function* statements(): Generator<Statement> {
        for (const group of next) {
          const old = before.get(groupKey(group));
          const sameUsers = old !== undefined && sameUserIds(old.userIds, group.userIds);
          if (old !== undefined && sameTotals(old, group) && sameUsers) continue;
          if (!sameUsers) {
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
          };
        }
        for (const group of previous) {
          if (after.has(groupKey(group))) continue;
          yield {
            query: `DELETE FROM ${ks}.hour_user_sets USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, group.urlKey, group.country],
          };
          yield {
            query: `DELETE FROM ${ks}.hour_groups USING TIMESTAMP ? WHERE hour = ? AND url_key = ? AND country = ?`,
            params: [at, hour, group.urlKey, group.country],
          };
        }
      }
      // One partition (the hour) for both tables: batched by size, drawn lazily.
      await executeInPartitionBatches(statements());
    },

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

    async replaceDay(dayMs, next, previous, fence) {
      const day = new Date(dayMs);
      const at = fence.nextTimestamp();
      const before = new Map(previous.map((group) => [groupKey(group), group]));
      const after = new Set(next.map(groupKey));
      function* statements(): Generator<Statement> {
        for (const group of next) {
          const old = before.get(groupKey(group));
          if (old !== undefined && sameTotals(old, group) && old.uniqueUsers === group.uniqueUsers) continue;
          yield {
            query: `INSERT INTO ${ks}.day_groups (day, url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users)
              VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [
              day,
              group.urlKey,
              group.country,
              long(group.clicks),
              long(group.timeSpentSumMs),
              long(group.timeSpentSamples),
              long(group.uniqueUsers),
              at,
            ],
          };
        }
        for (const group of previous) {
          if (after.has(groupKey(group))) continue;
          yield {
            query: `DELETE FROM ${ks}.day_groups USING TIMESTAMP ? WHERE day = ? AND url_key = ? AND country = ?`,
            params: [at, day, group.urlKey, group.country],
          };
        }
      }
      await executeInPartitionBatches(statements());
    },

    async replaceGroupDays(group, days, allTime, fence) {
      if (days.length === 0) return;
      const key = [group.urlKey, group.country];
      const dayStatements = (at: cassandra.types.Long): Statement[] =>
        days.map(({ dayMs, totals }): Statement =>
          totals === null
            ? {
                query: `DELETE FROM ${ks}.day_totals USING TIMESTAMP ? WHERE url_key = ? AND country = ? AND day = ?`,
                params: [at, ...key, new Date(dayMs)],
              }
            : {
                query: `INSERT INTO ${ks}.day_totals (url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
                params: [...key, new Date(dayMs), long(totals.clicks), long(totals.timeSpentSumMs), long(totals.timeSpentSamples), at],
              },
        );
      const sums = (at: cassandra.types.Long, value: GroupAllTime | null): Statement => ({
        query: `UPDATE ${ks}.day_totals USING TIMESTAMP ? SET all_days = ?, all_clicks = ?, all_time_spent_sum_ms = ?, all_time_spent_samples = ?
          WHERE url_key = ? AND country = ?`,
        params: [
          at,
          ...(value === null
            ? [null, null, null, null]
            : [long(value.days), long(value.clicks), long(value.timeSpentSumMs), long(value.timeSpentSamples)]),
          ...key,
        ],
      });
      const at = fence.nextTimestamp();
      const whole = [...dayStatements(at), sums(at, allTime)];
      if (whole.length <= BATCH_STATEMENTS && whole.reduce((bytes, statement) => bytes + statementBytes(statement), 0) <= BATCH_BYTES) {
        // One partition: the days and their sums apply together.
        await groupWrites.submit(whole);
        return;
      }
      await executeAll([sums(at, null)]);
      await executeInPartitionBatches(dayStatements(fence.nextTimestamp()));
      await executeAll([sums(fence.nextTimestamp(), allTime)]);
    },

    async readGroupTotals(group, daysMs, options = {}) {
      const key = [group.urlKey, group.country];
      const columns = `url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples, ${DAY_TOTALS_SUMS.map(([name]) => name).join(', ')}`;
      const readDays = async (): Promise<cassandra.types.Row[]> => {
        const found: cassandra.types.Row[] = [];
        for (let start = 0; start < daysMs.length; start += LOOKUP_CHUNK)
          found.push(
            ...(await rows(`SELECT ${columns} FROM ${ks}.day_totals WHERE url_key = ? AND country = ? AND day IN ?`, [
              ...key,
              daysMs.slice(start, start + LOOKUP_CHUNK).map((dayMs) => new Date(dayMs)),
            ])),
          );
        return found;
      };
      // Every row carries the partition's sums: one row brings them (none: nothing is stored).
      const readFirst = async (): Promise<cassandra.types.Row | undefined> =>
        (await rows(`SELECT ${columns} FROM ${ks}.day_totals WHERE url_key = ? AND country = ? LIMIT 1`, key))[0];
      let found: cassandra.types.Row[];
      let first: cassandra.types.Row | undefined;
      if (options.probablyNew === true) {
        first = await readFirst();
        found = first === undefined ? [] : await readDays();
      } else {
        found = await readDays();
        first = found[0] ?? (await readFirst());
      }
      const days = found.flatMap((row) =>
        row.get('day') === null ? [] : [{ ...totalsOf(row), dayMs: (row.get('day') as Date).getTime() }],
      );
      if (first === undefined) return { allTime: NO_DAYS, days };
      const storedDays = first.get('all_days') as cassandra.types.Long | null;
      if (storedDays !== null && options.resum !== true)
        return {
          allTime: {
            days: numberOf(storedDays),
            clicks: numberOf(first.get('all_clicks')),
            timeSpentSumMs: numberOf(first.get('all_time_spent_sum_ms')),
            timeSpentSamples: numberOf(first.get('all_time_spent_samples')),
          },
          days,
        };
      // Unknown sums (days stored before them, or a many-day write cut short): summed from every day, once.
      const history = await rows(
        `SELECT url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples FROM ${ks}.day_totals WHERE url_key = ? AND country = ?`,
        key,
      );
      const stored = history.filter((row) => row.get('day') !== null).map(totalsOf);
      return { allTime: { ...mergeTotals(stored), days: stored.length }, days };
    },

    async addAllTimeUsers(group, userIds, fence, known) {
      const key = [group.urlKey, group.country];
      let count = known?.count ?? (await countAllTimeUsers(group));
      if (userIds.size === 0) return count;
      const candidates = [...userIds];
      let stored = known?.users;
      if (stored === undefined) {
        const found = new Set<string>();
        // An empty set (a new group) has nothing to look up.
        for (let start = 0; count > 0 && start < candidates.length; start += LOOKUP_CHUNK) {
          const matches = await rows(`SELECT user_id FROM ${ks}.group_users WHERE url_key = ? AND country = ? AND user_id IN ?`, [
            ...key,
            candidates.slice(start, start + LOOKUP_CHUNK),
          ]);
          for (const row of matches) found.add(row.get('user_id') as string);
        }
        stored = found;
      }
      const fresh = candidates.filter((userId) => !stored.has(userId));
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
            query: `INSERT INTO ${ks}.group_users (url_key, country, user_id, users) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
            params: [...key, GROUP_USERS_COUNT_ROW, long(count), at],
          },
        ];
        // One partition: the rows and the new size apply together or not at all.
        await groupWrites.submit(queries);
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
    countAllTimeUsersOf,

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

    async listOpenWindows() {
      const found = await rows(`SELECT granularity, window_start FROM ${ks}.open_windows WHERE shard = 0`, []);
      return found.map((row) => ({
        granularity: row.get('granularity') as WindowGranularity,
        windowStartMs: (row.get('window_start') as Date).getTime(),
      }));
    },

    async readPublishedIndex(alias) {
      const [row] = await rows(`SELECT index_uuid FROM ${ks}.published_index WHERE alias = ?`, [alias]);
      return (row?.get('index_uuid') as string | null | undefined) ?? undefined;
    },

    async recordPublishedIndex(alias, indexUuid, fence) {
      await executeAll([
        {
          query: `INSERT INTO ${ks}.published_index (alias, index_uuid) VALUES (?, ?) USING TIMESTAMP ?`,
          params: [alias, indexUuid, fence.nextTimestamp()],
        },
      ]);
    },

    async listStoredHours() {
      const found = await rows(`SELECT DISTINCT hour FROM ${ks}.hour_groups`, []);
      return found.map((row) => (row.get('hour') as Date).getTime()).sort((a, b) => a - b);
    },

    async listStoredDays() {
      const found = await rows(`SELECT DISTINCT day FROM ${ks}.day_groups`, []);
      return found.map((row) => (row.get('day') as Date).getTime()).sort((a, b) => a - b);
    },

    async *allTimeGroupPages(pageSize) {
      let page: { group: GroupRef; allTime: GroupAllTime | undefined }[] = [];
      const sums = DAY_TOTALS_SUMS.map(([name]) => name).join(', ');
      const scan = pagedRows(client, `SELECT DISTINCT url_key, country, ${sums} FROM ${ks}.day_totals`, [], pageSize);
      for (;;) {
        const next = await withClassifiedErrors(() => scan.next());
        if (next.done === true) break;
        const row = next.value;
        const days = row.get('all_days') as cassandra.types.Long | null;
        page.push({
          group: { urlKey: row.get('url_key') as string, country: row.get('country') as string },
          allTime:
            days === null
              ? undefined
              : {
                  days: numberOf(days),
                  clicks: numberOf(row.get('all_clicks')),
                  timeSpentSumMs: numberOf(row.get('all_time_spent_sum_ms')),
                  timeSpentSamples: numberOf(row.get('all_time_spent_samples')),
                },
        });
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
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
