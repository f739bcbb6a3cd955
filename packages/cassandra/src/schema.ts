import { KEYSPACE_NAME } from '@clickstream/config';
import type { Replication } from '@clickstream/config';
import type { Logger } from '@clickstream/observability';
import { AGGREGATOR_TABLES, DAY_TOTALS_SUMS } from './aggregator-schema.ts';
import { upgradeAllUsers } from './all-users-upgrade.ts';
import { EVENTS_TTL_RAISES_TABLE, recordEventsTtlRaise } from './events-ttl.ts';
import type { CassandraClient } from './cassandra-client.ts';
import { upgradeHourUsers } from './hour-users-upgrade.ts';
import { upgradePendingHours } from './pending-hours-upgrade.ts';

export type { Replication };

/**
 * Number of partitions one hour of events is spread over, by a hash of the event id, so that a
 * busy hour is not one hot, huge partition. Part of the stored layout: never change it on a live keyspace.
 */
export const EVENT_BUCKETS = 8;

function replicationCql(replication: Replication): string {
  if (replication.class === 'SimpleStrategy') return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  const dcs = Object.entries(replication.dataCenters).map(([dc, n]) => `'${dc.replaceAll("'", "''")}': ${n}`);
  return `{'class': 'NetworkTopologyStrategy', ${dcs.join(', ')}}`;
}

/**
 * Events are written roughly in time order and, with a retention, expire in the same order:
 * time windows of one day let whole SSTables drop once all their events expired.
 */
const EVENTS_COMPACTION = "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}";

/** The tables, in creation order. `%KS%` stands for the keyspace. */
const TABLES: readonly string[] = [
  // One row per event. The partition is one hour (UTC, by event time) and one of EVENT_BUCKETS
  // buckets, so the aggregator reads an hour with EVENT_BUCKETS partition queries and no scan; a
  // replayed event has the same key and overwrites its own row.
  `CREATE TABLE IF NOT EXISTS %KS%.events (
    event_hour timestamp, bucket smallint, event_time timestamp, event_id text,
    user_id text, session_id text, url text, url_key text, referrer text, ip text, user_agent text,
    country text, region text, city text, browser text, browser_version text, os text, os_version text,
    device_type text, is_bot boolean, time_spent_ms int, ingested_at timestamp,
    PRIMARY KEY ((event_hour, bucket), event_time, event_id)
  ) WITH CLUSTERING ORDER BY (event_time ASC, event_id ASC) AND compaction = ${EVENTS_COMPACTION}`,
  // The raises of the events' TTL: the events written before one keep the TTL before it.
  EVENTS_TTL_RAISES_TABLE,
  ...AGGREGATOR_TABLES,
];

/** What {@link ensureSchema} is told: settings that follow the configuration, and where to say what it keeps or upgrades. */
export type SchemaOptions = {
  /** When given, the retention of raw events (see {@link ensureSchema}). */
  readonly eventsTtlSeconds?: number;
} & (
  | { readonly logger?: Logger; readonly upgrade?: undefined }
  | { readonly logger: Logger; readonly upgrade: { readonly userStateTtlSeconds: number } }
);

/**
 * Creates the keyspace and tables when missing (idempotent: `IF NOT EXISTS` everywhere). An
 * existing keyspace keeps its replication: changing it needs a repair of every node, which is the
 * operator's to run, so a replication other than `replication` is only said to `options.logger`,
 * with the statement that would change it. The driver waits for schema agreement after each statement.
 *
 * @param options.eventsTtlSeconds when given, the retention of raw events: the `events` table's
 *   default TTL (0 = forever), applied server-side to every event written from then on, whoever
 *   writes it; the table also gets its time-window compaction when it predates it.
 * @param options.upgrade when given (the aggregator's migrations), a keyspace written before
 *   `hour_user_sets` has its `hour_users` copied over with this per-user state TTL, then dropped
 *   (see {@link upgradeHourUsers}), and one written by v1 its `all_users` copied into
 *   `group_users` (see {@link upgradeAllUsers}) and the hours its `pending_hours` still marks
 *   marked in the change counters (see {@link upgradePendingHours}); progress goes to the logger.
 */
export async function ensureSchema(client: CassandraClient, replication: Replication, options: SchemaOptions = {}): Promise<void> {
  const ks = client.keyspace;
  if (!KEYSPACE_NAME.test(ks)) throw new Error(`invalid keyspace name '${ks}': lower-case letters, digits and _`);
  await client.driver.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(replication)}`);
  if (options.logger !== undefined) await warnOfKeptReplication(client, replication, options.logger);
  for (const table of TABLES) await client.driver.execute(table.replaceAll('%KS%', ks));
  await addMissingColumns(client, 'day_totals', DAY_TOTALS_SUMS);
  const ttl = options.eventsTtlSeconds;
  if (ttl !== undefined) {
    if (!Number.isSafeInteger(ttl) || ttl < 0 || ttl > 630_720_000) throw new RangeError(`events TTL must be 0..630720000 s, got ${ttl}`);
    // Only when it differs: a schema change on every start needs every node for agreement, and
    // with one node of three down it would hold every replica's start-up for nothing.
    const current = (
      await client.driver.execute(
        'SELECT default_time_to_live, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
        [ks, 'events'],
      )
    ).first();
    const compactionClass = String((current?.get('compaction') as Record<string, string> | undefined)?.class ?? '');
    const currentTtl = Number(current?.get('default_time_to_live') ?? -1);
    if (currentTtl !== ttl || !compactionClass.endsWith('TimeWindowCompactionStrategy')) {
      // A longer TTL (or none) leaves the events written so far with the shorter one: recorded
      // first, so that the aggregator never recomputes a day whose events may have left.
      if (currentTtl > 0 && (ttl === 0 || ttl > currentTtl)) await recordEventsTtlRaise(client, currentTtl);
      await client.driver.execute(`ALTER TABLE ${ks}.events WITH default_time_to_live = ${ttl} AND compaction = ${EVENTS_COMPACTION}`);
    }
  }
  if (options.upgrade) {
    await upgradeHourUsers(client, options.upgrade.userStateTtlSeconds, options.logger);
    await upgradeAllUsers(client, options.upgrade.userStateTtlSeconds, options.logger);
    await upgradePendingHours(client, options.logger);
  }
}

/**
 * Warns when the keyspace's stored replication is not `wanted` (CASSANDRA_REPLICATION applies
 * when the keyspace is created only), naming both and the statement and repair that would align them.
 */
async function warnOfKeptReplication(client: CassandraClient, wanted: Replication, logger: Logger): Promise<void> {
  const row = (
    await client.driver.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [client.keyspace])
  ).first();
  const stored = (row?.get('replication') ?? {}) as Record<string, string>;
  const actual = storedReplicationText(stored);
  const asked = replicationText(wanted);
  if (actual === asked) return;
  logger.warn(
    { keyspace: client.keyspace, actual, wanted: asked },
    `keyspace ${client.keyspace} has replication ${actual} where CASSANDRA_REPLICATION asks for ${asked}, which applies only when the keyspace is created; to change it: ALTER KEYSPACE ${client.keyspace} WITH replication = ${replicationCql(wanted)}, then nodetool repair -full on every node`,
  );
}

/** A replication as the logs say it: `SimpleStrategy 3`, `NetworkTopologyStrategy dc1:3,dc2:3` (data centres sorted). */
function replicationText(replication: Replication): string {
  if (replication.class === 'SimpleStrategy') return `SimpleStrategy ${replication.replicationFactor}`;
  return `NetworkTopologyStrategy ${dataCentresText(Object.entries(replication.dataCenters))}`;
}

/** The same for the replication map `system_schema.keyspaces` stores (a full class name, factors as strings). */
function storedReplicationText({ class: className = '', replication_factor: factor, ...dataCentres }: Record<string, string>): string {
  const strategy = className.slice(className.lastIndexOf('.') + 1);
  return strategy === 'SimpleStrategy' ? `${strategy} ${factor}` : `${strategy} ${dataCentresText(Object.entries(dataCentres))}`;
}

const dataCentresText = (factors: readonly (readonly [string, string | number])[]): string =>
  factors
    .map(([dc, n]) => `${dc}:${n}`)
    .sort()
    .join(',');

/**
 * Adds the columns a table created by an earlier version lacks (static ones, as all of these are).
 * Only when one is missing: a schema change needs every node for agreement.
 */
async function addMissingColumns(client: CassandraClient, table: string, columns: readonly (readonly [string, string])[]): Promise<void> {
  const present = new Set(
    (
      await client.driver.execute('SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [
        client.keyspace,
        table,
      ])
    ).rows.map((row) => row.get('column_name') as string),
  );
  for (const [name, type] of columns) {
    if (!present.has(name)) await client.driver.execute(`ALTER TABLE ${client.keyspace}.${table} ADD ${name} ${type} static`);
  }
}
