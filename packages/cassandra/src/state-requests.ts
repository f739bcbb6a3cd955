/**
 * What the aggregator state's parts (hour-state.ts, day-state.ts, all-time-state.ts,
 * window-state.ts) share: the requests they are written with, and the row shapes they read.
 */
import cassandra from 'cassandra-driver';
import { groupKey } from '@clickstream/metrics';
import type { GroupRef, GroupSelection, GroupTotals, MergeableTotals, WindowGroup } from '@clickstream/metrics';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { long, numberOf } from './long-values.ts';
import { PAGE_ROWS, pagedRows, rowsPage } from './paged-rows.ts';
import { createPartitionBatcher, statementBytes } from './partition-batcher.ts';
import type { PartitionBatcher, Statement } from './partition-batcher.ts';

/** Entries per IN list: candidate users looked up, days, group tuples. */
export const LOOKUP_CHUNK = 500;
/** Up to this many groups, `readHour` and `readDay` read only their rows (IN lists); past it, the whole partition. */
const SELECTED_GROUPS_MAX = 5_000;
export const BATCH_BYTES = 24 * 1024;
/** Groups (partitions) whose writes share one unlogged batch at most: Cassandra warns past 10 by default. */
const GROUPS_PER_BATCH = 10;
/** Statements per unlogged batch at most (with {@link BATCH_BYTES}). */
export const BATCH_STATEMENTS = 250;

/**
 * The (url_key, country) tuples of a few groups (by group key), for IN lists; `undefined` for all
 * groups, or for more than {@link SELECTED_GROUPS_MAX} (the whole partition is read, filtered by the caller).
 */
export function selectedGroups(onlyGroups: GroupSelection | undefined): cassandra.types.Tuple[] | undefined {
  if (onlyGroups === undefined || 'slices' in onlyGroups || onlyGroups.size > SELECTED_GROUPS_MAX) return undefined;
  return [...onlyGroups].map((key) => {
    const [urlKey, country] = JSON.parse(key) as [string, string];
    return new cassandra.types.Tuple(urlKey, country);
  });
}

/**
 * The statements that turn a partition's stored groups (`previous`) into `next`, drawn lazily:
 * `write` for each group of `next` whose stored version `unchanged` does not match (or which has
 * none), `remove` for each stored group `next` no longer has. Groups are told apart by group key.
 */
export function* replacementStatements<G extends GroupRef>(
  next: readonly G[],
  previous: readonly G[],
  how: {
    unchanged: (stored: G, group: G) => boolean;
    write: (group: G, stored: G | undefined) => Iterable<Statement>;
    remove: (stored: G) => Iterable<Statement>;
  },
): Generator<Statement> {
  const before = new Map(previous.map((group) => [groupKey(group), group]));
  const after = new Set(next.map(groupKey));
  for (const group of next) {
    const stored = before.get(groupKey(group));
    if (stored === undefined || !how.unchanged(stored, group)) yield* how.write(group, stored);
  }
  for (const stored of previous) if (!after.has(groupKey(stored))) yield* how.remove(stored);
}

/**
 * One page of a window's stored groups, with their numbers and distinct users (not the users
 * themselves); `next` reads the page after it (the same `next` again on a retry), undefined
 * after the last page. Memory holds a page however many groups the window has.
 */
export interface GroupsPage {
  readonly groups: WindowGroup[];
  readonly next: string | undefined;
}

/** The requests of one state repository: its keyspace, the per-user rows' TTL, and how it reads and writes. */
export interface StateRequests {
  readonly client: CassandraClient;
  readonly ks: string;
  /** TTL of the per-user rows (hour users, all-time users, day marks); 0 keeps them forever. */
  readonly userTtl: number;
  readonly concurrency: number;
  /** A group's all-time users and its day totals: one partition each, many per request. */
  readonly groupWrites: PartitionBatcher;
  /** Statements of any partitions, `concurrency` at a time. */
  readonly executeAll: (statements: readonly Statement[]) => Promise<void>;
  /** Statements of one partition as size-bounded unlogged batches, drawn lazily (see `executeInPartitionBatches` below). */
  readonly executeInPartitionBatches: (statements: Iterable<Statement>) => Promise<void>;
  /** Every row of a query, paged. */
  readonly rows: (query: string, params: unknown[]) => Promise<cassandra.types.Row[]>;
  /** The rows of one partition of a table keyed by (url_key, country) within it: the `selected` groups' (IN lists), or all. */
  readonly groupRowsOf: (
    from: { table: string; columns: string; partition: readonly [column: string, value: Date] },
    selected: readonly cassandra.types.Tuple[] | undefined,
  ) => AsyncGenerator<cassandra.types.Row>;
  /** One page of the groups of a window's partition (`hour_groups` or `day_groups`), from `pageState`. */
  readonly groupsPage: (
    table: 'hour_groups' | 'day_groups',
    partition: readonly [column: string, value: Date],
    pageState: string | undefined,
  ) => Promise<GroupsPage>;
}

/**
 * @param options.userStateTtlSeconds TTL of the per-user rows (hour users, all-time users) and of the day roll-up marks; 0 keeps them forever.
 * @param options.pageGroups groups per page of a window read a page at a time (tests make it small).
 */
export function createStateRequests(
  client: CassandraClient,
  options: { concurrency: number; userStateTtlSeconds?: number; pageGroups?: number },
): StateRequests {
  const ks = client.keyspace;
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

  async function groupsPage(
    table: 'hour_groups' | 'day_groups',
    [column, value]: readonly [column: string, value: Date],
    pageState: string | undefined,
  ): Promise<GroupsPage> {
    const query = `SELECT url_key, country, clicks, time_spent_sum_ms, time_spent_samples, unique_users FROM ${ks}.${table} WHERE ${column} = ?`;
    return withClassifiedErrors(async () => {
      const page = await rowsPage(client, query, [value], pageState, options.pageGroups ?? PAGE_ROWS);
      return { groups: page.rows.map(windowGroupOf), next: page.next };
    });
  }

  return {
    client,
    ks,
    userTtl: options.userStateTtlSeconds ?? 0,
    concurrency: options.concurrency,
    groupWrites,
    executeAll,
    executeInPartitionBatches,
    rows,
    groupRowsOf,
    groupsPage,
  };
}

/** The (url_key, country) of a row of any table keyed by them. */
export const refOf = (row: cassandra.types.Row): GroupRef => ({
  urlKey: row.get('url_key') as string,
  country: row.get('country') as string,
});

/** A row's clicks and time spent (hour_groups, day_groups, day_totals). */
export const totalsOf = (row: cassandra.types.Row): GroupTotals => ({
  ...refOf(row),
  clicks: numberOf(row.get('clicks')),
  timeSpentSumMs: numberOf(row.get('time_spent_sum_ms')),
  timeSpentSamples: numberOf(row.get('time_spent_samples')),
});

/** {@link totalsOf} the other way: a group's clicks and time spent as the values of those columns, in their order. */
export const totalsParams = (totals: MergeableTotals): cassandra.types.Long[] => [
  long(totals.clicks),
  long(totals.timeSpentSumMs),
  long(totals.timeSpentSamples),
];

/** A row's numbers with its distinct users (hour_groups, day_groups). */
export const windowGroupOf = (row: cassandra.types.Row): WindowGroup => ({
  ...totalsOf(row),
  uniqueUsers: numberOf(row.get('unique_users')),
});
