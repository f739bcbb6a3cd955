import type { Logger } from '@clickstream/observability';
import type { CassandraClient } from './cassandra-client.ts';
import { pagedRows } from './paged-rows.ts';
import { createPendingHoursRepository } from './pending-hours.ts';
import { tableExists } from './legacy-copy.ts';

/** Hours marked per round of counter increments. */
const HOURS_PER_MARK = 1_000;

/**
 * Upgrades a keyspace written by the first version (v1), whose work queue was one marker row per
 * (ingest batch, hour) in `pending_hours`, deleted once processed: the hours still marked there
 * (events v1 never aggregated) are marked in this version's change counters, then
 * `pending_hours` is dropped. Without it those hours would stay unaggregated until a new event
 * came for each.
 *
 * Marking is idempotent in effect (an hour marked twice is recomputed once more), so an
 * interrupted upgrade is simply run again. A table too full of tombstones to be read (v1's
 * failure: "Scanned over 100001 tombstones") must not stop the service from starting: the
 * upgrade then logs an error and leaves the table for a later start, once compaction has purged
 * them (v1 kept them one hour, `gc_grace_seconds = 3600`).
 *
 * @returns the hours marked; 0 when the keyspace has no `pending_hours` or it could not be read.
 */
export async function upgradePendingHours(client: CassandraClient, logger: Logger): Promise<number> {
  const ks = client.keyspace;
  if (!(await tableExists(client, 'pending_hours'))) return 0;
  const hours = new Set<number>();
  try {
    for await (const row of pagedRows(client, `SELECT hour FROM ${ks}.pending_hours`, [])) hours.add((row.get('hour') as Date).getTime());
  } catch (err) {
    logger.error(
      { err, keyspace: ks },
      'v1 pending_hours could not be read (tombstones not purged yet?); its hours are not marked, it is tried again at the next start',
    );
    return 0;
  }
  const pending = createPendingHoursRepository(client);
  const sorted = [...hours].sort((a, b) => a - b);
  for (let start = 0; start < sorted.length; start += HOURS_PER_MARK) await pending.mark(sorted.slice(start, start + HOURS_PER_MARK));
  await client.driver.execute(`DROP TABLE IF EXISTS ${ks}.pending_hours`);
  logger.info({ hours: sorted.length }, 'v1 pending_hours marked in the change counters and dropped');
  return sorted.length;
}
