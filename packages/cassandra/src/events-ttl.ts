import { MAX_FUTURE_MS } from '@clickstream/events';
import type { CassandraClient } from './cassandra-client.ts';
import { isMissingTable, withClassifiedErrors } from './errors.ts';

/**
 * A raise of the `events` table's TTL, recorded by the schema step before it altered the table:
 * the events written before `changedAtMs` keep `previousTtlSeconds` (Cassandra sets a cell's TTL
 * when it is written), so they leave earlier than the table's TTL now says.
 */
export interface EventsTtlRaise {
  /** Cassandra's clock, epoch ms. */
  readonly changedAtMs: number;
  readonly previousTtlSeconds: number;
}

/** The `events` table's TTL now (0: none) and its recorded raises, oldest first. */
export interface EventsTtlHistory {
  readonly ttlSeconds: number;
  readonly raises: readonly EventsTtlRaise[];
}

/** The table holding the raises: one partition per table whose TTL was raised (only `events`), a row per raise. */
export const EVENTS_TTL_RAISES_TABLE = `CREATE TABLE IF NOT EXISTS %KS%.ttl_raises (
    table_name text, changed_at timestamp, previous_ttl int,
    PRIMARY KEY (table_name, changed_at)
  )`;

async function readEventsTtlSeconds(client: CassandraClient): Promise<number> {
  const row = (
    await client.driver.execute('SELECT default_time_to_live FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [
      client.keyspace,
      'events',
    ])
  ).first();
  return Number(row?.get('default_time_to_live') ?? 0);
}

/**
 * Records that the `events` table's TTL is about to be raised from `previousTtlSeconds` (before
 * the table is altered: a failure in between leaves a record of the TTL still in force, which only
 * makes the aggregator more careful). The rows are never deleted: a raise is rare, and its events
 * matter for as long as their days can be recomputed.
 */
export async function recordEventsTtlRaise(client: CassandraClient, previousTtlSeconds: number): Promise<void> {
  await client.driver.execute(
    `INSERT INTO ${client.keyspace}.ttl_raises (table_name, changed_at, previous_ttl) VALUES ('events', toTimestamp(now()), ?)`,
    [previousTtlSeconds],
    { prepare: true },
  );
}

/**
 * The `events` table's TTL and its recorded raises (see {@link EventsTtlRaise}). A keyspace the
 * schema step has not upgraded yet (no `ttl_raises` table) has none recorded.
 */
export function readEventsTtlHistory(client: CassandraClient): Promise<EventsTtlHistory> {
  return withClassifiedErrors(() => readHistory(client));
}

async function readHistory(client: CassandraClient): Promise<EventsTtlHistory> {
  const ttlSeconds = await readEventsTtlSeconds(client);
  const rows = await client.driver
    // Not prepared: a once-a-run read, whose missing table must come back as that, not as an
    // unknown prepared statement.
    .execute(`SELECT changed_at, previous_ttl FROM ${client.keyspace}.ttl_raises WHERE table_name = 'events'`, [], { prepare: false })
    .catch((err: unknown) => {
      if (isMissingTable(err)) return { rows: [] };
      throw err;
    });
  const raises = rows.rows.map((row) => ({
    changedAtMs: (row.get('changed_at') as Date).getTime(),
    previousTtlSeconds: Number(row.get('previous_ttl')),
  }));
  return { ttlSeconds, raises };
}

/**
 * How long after a raise is recorded events may still be written with the TTL before it: the
 * table is altered after the record, and ingest re-reads the TTL it adds to ahead-dated events
 * once a minute (longer while those reads fail). An hour covers both.
 */
const RAISE_SETTLE_MS = 3_600_000;

/**
 * The shortest TTL (seconds, 0: none) the events of the day starting at `dayMs` can have been
 * written with: the table's TTL now, or the TTL before a raise when the day can hold events
 * written before it took effect (up to {@link MAX_FUTURE_MS} ahead of their writing). Pure.
 */
export function shortestEventsTtlSeconds(history: EventsTtlHistory, dayMs: number): number {
  let shortest = history.ttlSeconds;
  for (const raise of history.raises)
    if (dayMs < raise.changedAtMs + RAISE_SETTLE_MS + MAX_FUTURE_MS && raise.previousTtlSeconds > 0)
      shortest = shortest === 0 ? raise.previousTtlSeconds : Math.min(shortest, raise.previousTtlSeconds);
  return shortest;
}

/**
 * The `events` table's TTL in seconds (the retention the aggregator sets; 0: none), read now and
 * then every `intervalMs`, so that a writer follows a change without a restart. A failed re-read
 * keeps the last value (the next one tries again).
 */
export async function watchEventsTtl(
  client: CassandraClient,
  options: { intervalMs: number },
): Promise<{ seconds(): number; stop(): void }> {
  let seconds = await readEventsTtlSeconds(client);
  const timer = setInterval(() => {
    readEventsTtlSeconds(client).then(
      (value) => (seconds = value),
      () => undefined,
    );
  }, options.intervalMs);
  timer.unref();
  return { seconds: () => seconds, stop: () => clearInterval(timer) };
}
