/**
 * The aggregator state of all time, per (url, country): its days' totals with their sums, and
 * its exact set of users with their count.
 */
import cassandra from 'cassandra-driver';
import { groupKey, mergeTotals } from '@clickstream/metrics';
import type { GroupRef, GroupTotals, MergeableTotals } from '@clickstream/metrics';
import { DAY_TOTALS_SUMS, GROUP_USERS_COUNT_ROW } from './aggregator-schema.ts';
import { CassandraUnavailableError, withClassifiedErrors } from './errors.ts';
import { long, numberOf } from './long-values.ts';
import { pagedRows } from './paged-rows.ts';
import { statementBytes } from './partition-batcher.ts';
import type { Statement } from './partition-batcher.ts';
import { BATCH_BYTES, BATCH_STATEMENTS, LOOKUP_CHUNK, refOf, totalsOf, totalsParams } from './state-requests.ts';
import type { StateRequests } from './state-requests.ts';
import type { WriteFence } from './write-fence.ts';

/** One day's totals of a (url, country). */
export type GroupDay = GroupTotals & { readonly dayMs: number };

/** A (url, country)'s totals summed over all its days, and how many days it has: its all-time numbers but users. */
export type GroupAllTime = MergeableTotals & { readonly days: number };

/** What a writer knows of a (url, country)'s stored all-time users. */
export interface KnownAllTimeUsers {
  /**
   * The size this writer last stored: trusted with `users`, or when no user is added; otherwise
   * the size is read with the users looked up (see `planAllTimeUsers`).
   */
  readonly count: number;
  /**
   * The whole stored set, when this writer added every user it holds (a group it found empty):
   * the candidates are checked against it, and nobody is looked up.
   */
  readonly users?: ReadonlySet<string>;
}

/** What adding users to a (url, country)'s all-time set writes: the users it lacks, and its size before them. */
export interface AllTimeUsersAddition {
  readonly group: GroupRef;
  readonly before: number;
  /** Distinct users not in the set. */
  readonly fresh: readonly string[];
}

/** Nothing counted yet. */
export const NO_DAYS: GroupAllTime = { days: 0, clicks: 0, timeSpentSumMs: 0, timeSpentSamples: 0 };

/** Countries of one url whose all-time counts one request reads (`IN` on the partition key's last column). */
const COUNT_COUNTRIES = 100;
/** Rounds of reads of a group's all-time state that may disagree before a run gives up (see storedUsersAmong, totalsView). */
const CONSISTENT_READ_ROUNDS = 5;

/** The static columns of a `day_totals` partition holding its all-time sums. */
const SUMS_COLUMNS = DAY_TOTALS_SUMS.map(([name]) => name).join(', ');

/** What a read of a group's day totals selects: each row carries the partition's sums and when they were written. */
const TOTALS_COLUMNS = `url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples, ${SUMS_COLUMNS}, WRITETIME(all_days) AS sums_written`;

/** Two rows of one partition carry the same write of its sums. */
const sameSums = (a: cassandra.types.Row, b: cassandra.types.Row): boolean =>
  String(a.get('sums_written')) === String(b.get('sums_written'));

/** One state of a group's day totals (see totalsView). */
interface TotalsView {
  readonly head: cassandra.types.Row | undefined;
  readonly found: readonly cassandra.types.Row[];
}

/** Count requests whose result sets are held at once (see countAllTimeUsersOf). */
const COUNT_REQUESTS_COLLECTED = 1_000;

/** The all-time part of `AggregatorStateRepository` (aggregator-state.ts says what every write promises). */
export interface AllTimeState {
  /**
   * The all-time sums of one (url, country) and its stored totals of the given days (those it
   * has): what a run needs to move the sums by the days it changes, at a cost that does not grow
   * with the group's history. Sums stored by a version before them are summed from every day
   * once; `resum` sums them from every day in any case (sums the caller found impossible).
   * `probablyNew` (the group was in none of these days' stored state): its partition is looked
   * for first, one request when there is none (otherwise the days are, one request when one is
   * stored). Either way the answer is the same, and the sums and the days are of one state: a
   * write that lands between the reads (an earlier attempt, or a stale writer) makes them read again.
   *
   * @throws CassandraUnavailableError when writes keep landing between the reads (retriable).
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
   * Adding users to the all-time set of a (url, country), first half: which of `userIds` the set
   * lacks, and its size before them. Cost: the candidates, never the set's history.
   * `known`: what this writer knows of the stored set (saves reading it again). Without its
   * `users`, the size and the users already stored are read together, in reads that agree: a
   * write of an earlier attempt that lands meanwhile is counted once, never half.
   */
  planAllTimeUsers(group: GroupRef, userIds: ReadonlySet<string>, known?: KnownAllTimeUsers): Promise<AllTimeUsersAddition>;
  /**
   * Second half: writes the addition's users, each chunk of them with the size it brings the set
   * to as one mutation of the group's partition (in a batch shared with other groups), so the
   * stored size always equals the stored set (a crash between chunks, or a replay, counts nobody
   * twice); returns the size after. Sending the same addition again (a retry after a timeout)
   * writes the same rows and sizes with later timestamps, so an earlier attempt that lands
   * afterwards, in part or whole, changes nothing: a retry must not plan again.
   */
  writeAllTimeUsers(addition: AllTimeUsersAddition, fence: WriteFence): Promise<number>;
  /** Exact number of distinct users ever counted for one (url, country): one stored number. */
  countAllTimeUsers(group: GroupRef): Promise<number>;
  /** {@link countAllTimeUsers} of many groups, by group key: one request per url and up to {@link COUNT_COUNTRIES} of its countries. */
  countAllTimeUsersOf(groups: Iterable<GroupRef>): Promise<Map<string, number>>;
  /**
   * Every (url, country) with stored day totals (its all-time document), a page at a time, with its
   * stored all-time sums (`undefined` where they are unknown: read them with {@link readGroupTotals}).
   */
  allTimeGroupPages(pageSize: number): AsyncGenerator<{ group: GroupRef; allTime: GroupAllTime | undefined }[]>;
}

export function createAllTimeState(requests: StateRequests): AllTimeState {
  const { client, ks, userTtl, groupWrites, executeAll, executeInPartitionBatches, rows } = requests;
  /**
   * One state of a group's day totals: the stored rows of `daysMs`, and a row with the partition's
   * sums (none: nothing is stored); `undefined` when a write landed between its reads. Every day
   * write brings the sums in the same mutation, so reads that saw the sums written at the same time
   * saw one state: the days and the sums come from one read when a day is found, and otherwise the
   * sums are read before and after the days. `headFirst`: the sums are looked for first (one read
   * when there are none); otherwise the days are (one read when one is stored).
   */
  async function totalsView(key: readonly string[], daysMs: readonly number[], headFirst: boolean): Promise<TotalsView | undefined> {
    const readHead = async (): Promise<cassandra.types.Row | undefined> =>
      (await rows(`SELECT ${TOTALS_COLUMNS} FROM ${ks}.day_totals WHERE url_key = ? AND country = ? LIMIT 1`, [...key]))[0];
    const before = headFirst ? await readHead() : undefined;
    if (headFirst && before === undefined) return { head: undefined, found: [] };
    const found: cassandra.types.Row[] = [];
    for (let start = 0; start < daysMs.length; start += LOOKUP_CHUNK)
      found.push(
        ...(await rows(`SELECT ${TOTALS_COLUMNS} FROM ${ks}.day_totals WHERE url_key = ? AND country = ? AND day IN ?`, [
          ...key,
          daysMs.slice(start, start + LOOKUP_CHUNK).map((dayMs) => new Date(dayMs)),
        ])),
      );
    const [head] = found;
    if (head !== undefined) return found.every((row) => sameSums(row, head)) ? { head, found } : undefined;
    if (before === undefined) return totalsView(key, daysMs, true);
    const after = await readHead();
    return after !== undefined && sameSums(after, before) ? { head: after, found } : undefined;
  }

  /**
   * The stored count of a group's all-time set and which of `candidates` it holds, as one state of
   * the partition. A write that timed out may still land (a paused coordinator that resumes) or
   * sit on one replica only, so two reads can see two states: a count read before such a write
   * and users looked up after it added nobody and kept the old count, short of the set for good.
   * Each read therefore brings the count row with the users it looks up (one mutation of the
   * partition is in a read whole or not at all), and reads that saw different count rows (a write
   * landed between them; quorum reads never go back to an older state) are made again.
   *
   * @throws CassandraUnavailableError when the reads still disagree after a few rounds (retriable).
   */
  async function storedUsersAmong(group: GroupRef, candidates: readonly string[]): Promise<{ count: number; stored: Set<string> }> {
    const key = [group.urlKey, group.country];
    for (let round = 1; round <= CONSISTENT_READ_ROUNDS; round += 1) {
      const stored = new Set<string>();
      // Per read, the count row it saw: its count and write time, or undefined (none in that read).
      const seen: ({ count: number; writtenAt: string } | undefined)[] = [];
      for (let start = 0; start < candidates.length; start += LOOKUP_CHUNK) {
        const matches = await rows(
          `SELECT user_id, users, WRITETIME(users) AS written FROM ${ks}.group_users WHERE url_key = ? AND country = ? AND user_id IN ?`,
          [...key, [GROUP_USERS_COUNT_ROW, ...candidates.slice(start, start + LOOKUP_CHUNK)]],
        );
        let countRow: { count: number; writtenAt: string } | undefined;
        for (const row of matches) {
          const userId = row.get('user_id') as string;
          if (userId === GROUP_USERS_COUNT_ROW) countRow = { count: numberOf(row.get('users')), writtenAt: String(row.get('written')) };
          else stored.add(userId);
        }
        seen.push(countRow);
      }
      const [first] = seen;
      if (
        first !== undefined &&
        seen.every((view) => view !== undefined && view.count === first.count && view.writtenAt === first.writtenAt)
      )
        return { count: first.count, stored };
      if (seen.every((view) => view === undefined)) {
        // No count row in any read: a group never stored, or one stored before count rows (its
        // count is the static column of its first row). A count row found now landed meanwhile.
        const [head] = await rows(`SELECT user_id, users FROM ${ks}.group_users WHERE url_key = ? AND country = ? LIMIT 1`, key);
        if (head?.get('user_id') !== GROUP_USERS_COUNT_ROW) {
          const users: unknown = head?.get('users');
          return { count: users === null || users === undefined ? 0 : numberOf(users), stored };
        }
      }
    }
    throw new CassandraUnavailableError(
      `the all-time users of (${group.urlKey.slice(0, 256)}, ${group.country.slice(0, 64)}) changed while they were read, ${CONSISTENT_READ_ROUNDS} times: earlier writes still landing`,
    );
  }

  async function planAllTimeUsers(group: GroupRef, userIds: ReadonlySet<string>, known?: KnownAllTimeUsers): Promise<AllTimeUsersAddition> {
    if (userIds.size === 0) return { group, before: known?.count ?? (await countAllTimeUsers(group)), fresh: [] };
    const candidates = [...userIds];
    // The whole set held by this writer: nothing to read. Otherwise the count comes from the same
    // reads as the candidates found, never from an earlier read (see storedUsersAmong).
    const { count, stored } =
      known?.users === undefined ? await storedUsersAmong(group, candidates) : { count: known.count, stored: known.users };
    return { group, before: count, fresh: candidates.filter((userId) => !stored.has(userId)) };
  }

  async function writeAllTimeUsers({ group, before, fresh }: AllTimeUsersAddition, fence: WriteFence): Promise<number> {
    const key = [group.urlKey, group.country];
    let count = before;
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
  }

  async function countAllTimeUsers(group: GroupRef): Promise<number> {
    return (await countAllTimeUsersOf([group])).get(groupKey(group)) ?? 0;
  }

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
          { concurrencyLevel: requests.concurrency, raiseOnFirstError: true, collectResults: true },
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

  return {
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
                params: [...key, new Date(dayMs), ...totalsParams(totals), at],
              },
        );
      const sums = (at: cassandra.types.Long, value: GroupAllTime | null): Statement => ({
        query: `UPDATE ${ks}.day_totals USING TIMESTAMP ? SET all_days = ?, all_clicks = ?, all_time_spent_sum_ms = ?, all_time_spent_samples = ?
          WHERE url_key = ? AND country = ?`,
        params: [at, ...(value === null ? [null, null, null, null] : [long(value.days), ...totalsParams(value)]), ...key],
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
      let view: TotalsView | undefined;
      for (let round = 1; view === undefined; round += 1) {
        if (round > CONSISTENT_READ_ROUNDS)
          throw new CassandraUnavailableError(
            `the day totals of (${group.urlKey.slice(0, 256)}, ${group.country.slice(0, 64)}) changed while they were read, ${CONSISTENT_READ_ROUNDS} times: earlier writes still landing`,
          );
        view = await totalsView(key, daysMs, options.probablyNew === true);
      }
      const days = (dayRows: readonly cassandra.types.Row[]): GroupDay[] =>
        dayRows.flatMap((row) => (row.get('day') === null ? [] : [{ ...totalsOf(row), dayMs: (row.get('day') as Date).getTime() }]));
      const { head, found } = view;
      if (head === undefined) return { allTime: NO_DAYS, days: [] };
      const storedDays = head.get('all_days') as cassandra.types.Long | null;
      if (storedDays !== null && options.resum !== true)
        return {
          allTime: {
            days: numberOf(storedDays),
            clicks: numberOf(head.get('all_clicks')),
            timeSpentSumMs: numberOf(head.get('all_time_spent_sum_ms')),
            timeSpentSamples: numberOf(head.get('all_time_spent_samples')),
          },
          days: days(found),
        };
      // Unknown sums (days stored before them, or a many-day write cut short): summed from every
      // day, once, in one read that also gives the days asked for.
      const history = days(
        await rows(
          `SELECT url_key, country, day, clicks, time_spent_sum_ms, time_spent_samples FROM ${ks}.day_totals WHERE url_key = ? AND country = ?`,
          key,
        ),
      );
      const asked = new Set(daysMs);
      return { allTime: { ...mergeTotals(history), days: history.length }, days: history.filter((day) => asked.has(day.dayMs)) };
    },

    planAllTimeUsers,
    writeAllTimeUsers,

    countAllTimeUsers,
    countAllTimeUsersOf,

    async *allTimeGroupPages(pageSize) {
      let page: { group: GroupRef; allTime: GroupAllTime | undefined }[] = [];
      const scan = pagedRows(client, `SELECT DISTINCT url_key, country, ${SUMS_COLUMNS} FROM ${ks}.day_totals`, [], pageSize);
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
  };
}
