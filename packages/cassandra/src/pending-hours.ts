import cassandra from 'cassandra-driver';
import { dayStartMs } from '@clickstream/metrics';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';
import { fenceTokenOf } from './write-fence.ts';
import type { WriteFence } from './write-fence.ts';
import { long, numberOf } from './long-values.ts';

/** An hour (or day) whose change counter is ahead of what the aggregator has done. */
export interface PendingWindow {
  /** Window start, epoch ms. */
  readonly startMs: number;
  /** The change counter read: releasing records it as done. */
  readonly changes: number;
}

/** What is pending at one moment: the days whose counters moved, and their hours whose counters moved. */
export interface PendingWork {
  readonly days: readonly PendingWindow[];
  /** Ascending by start. */
  readonly hours: readonly PendingWindow[];
}

/**
 * The aggregator's work queue, made of counters instead of markers, so it never deletes and
 * never makes a tombstone however long it runs:
 * - ingest increments a counter per (day, hour) it touched, then one per day (the day counter
 *   is the doorbell: whoever sees a day's increment also sees its hours');
 * - the aggregator reads the day counters (one small partition, a row per day of history), then
 *   the hour counters of the days that moved, and after a run records the values it read as
 *   done. An hour is pending while its counter differs from its done value (it is ahead, or was
 *   truncated behind it), so increments made during a run stay pending for the next one.
 * Counter increments are not idempotent: a retried increment only makes an hour pending again,
 * which costs one harmless recomputation.
 */
export interface PendingHoursRepository {
  /** Records that these hours received events; call after the events are written. Duplicates allowed. */
  mark(hoursMs: readonly number[]): Promise<void>;
  /** The days and hours whose counters are ahead of their done values. */
  pending(): Promise<PendingWork>;
  /** Records what `work` read as done (fenced: a replica that lost its lease cannot move it back). */
  release(work: PendingWork, fence: WriteFence): Promise<void>;
}

export function createPendingHoursRepository(client: CassandraClient): PendingHoursRepository {
  const ks = client.keyspace;

  async function counters(query: string, params: unknown[], key: string): Promise<Map<number, number>> {
    const found = new Map<number, number>();
    for await (const row of pagedRows(client, query, params)) found.set((row.get(key) as Date).getTime(), numberOf(row.get('changes')));
    return found;
  }

  return {
    async mark(hoursMs) {
      const hours = [...new Set(hoursMs)];
      if (hours.length === 0) return;
      const days = [...new Set(hours.map(dayStartMs))];
      await withClassifiedErrors(async () => {
        await cassandra.concurrent.executeConcurrent(
          client.driver,
          `UPDATE ${ks}.hour_changes SET changes = changes + 1 WHERE day = ? AND hour = ?`,
          hours.map((hourMs) => [new Date(dayStartMs(hourMs)), new Date(hourMs)]),
          { concurrencyLevel: 16, raiseOnFirstError: true },
        );
        // Only after every hour: a day increment promises its hours' increments are visible.
        await cassandra.concurrent.executeConcurrent(
          client.driver,
          `UPDATE ${ks}.day_changes SET changes = changes + 1 WHERE shard = 0 AND day = ?`,
          days.map((dayMs) => [new Date(dayMs)]),
          { concurrencyLevel: 16, raiseOnFirstError: true },
        );
      });
    },

    async pending() {
      return withClassifiedErrors(async () => {
        const dayCounts = await counters(`SELECT day, changes FROM ${ks}.day_changes WHERE shard = 0`, [], 'day');
        const dayDone = await counters(`SELECT day, changes FROM ${ks}.day_changes_done WHERE shard = 0`, [], 'day');
        const days = [...dayCounts]
          // Different, not only ahead: counters truncated (or restored) behind the recorded values
          // would otherwise hide every change until they caught up again.
          .filter(([dayMs, changes]) => changes !== (dayDone.get(dayMs) ?? 0))
          .map(([startMs, changes]) => ({ startMs, changes }))
          .sort((a, b) => a.startMs - b.startMs);
        const hours: PendingWindow[] = [];
        for (const day of days) {
          const at = new Date(day.startMs);
          const hourCounts = await counters(`SELECT hour, changes FROM ${ks}.hour_changes WHERE day = ?`, [at], 'hour');
          const hourDone = await counters(`SELECT hour, changes FROM ${ks}.hour_changes_done WHERE day = ?`, [at], 'hour');
          for (const [startMs, changes] of hourCounts) if (changes !== (hourDone.get(startMs) ?? 0)) hours.push({ startMs, changes });
        }
        return { days, hours: hours.sort((a, b) => a.startMs - b.startMs) };
      });
    },

    async release(work, fence) {
      const at = fence.nextTimestamp();
      const hours = work.hours.map((hour) => [new Date(dayStartMs(hour.startMs)), new Date(hour.startMs), long(hour.changes), at]);
      const days = work.days.map((day) => [new Date(day.startMs), long(day.changes), at]);
      await withClassifiedErrors(async () => {
        await cassandra.concurrent.executeConcurrent(
          client.driver,
          `INSERT INTO ${ks}.hour_changes_done (day, hour, changes) VALUES (?, ?, ?) USING TIMESTAMP ?`,
          hours,
          { concurrencyLevel: 16, raiseOnFirstError: true },
        );
        // Days last: a day recorded done while one of its hours is not would hide that hour.
        await cassandra.concurrent.executeConcurrent(
          client.driver,
          `INSERT INTO ${ks}.day_changes_done (shard, day, changes) VALUES (0, ?, ?) USING TIMESTAMP ?`,
          days,
          { concurrencyLevel: 16, raiseOnFirstError: true },
        );
      });
    },
  };
}

/**
 * The highest fencing token among the days the aggregator recorded done (every run that releases
 * work records some, under its fence): 0 when none. One small partition, a row per day of history.
 */
export async function highestReleasedToken(client: CassandraClient): Promise<number> {
  return withClassifiedErrors(async () => {
    let highest = 0;
    for await (const row of pagedRows(
      client,
      `SELECT WRITETIME(changes) AS written FROM ${client.keyspace}.day_changes_done WHERE shard = 0`,
      [],
    )) {
      const written = row.get('written') as cassandra.types.Long | null;
      if (written !== null) highest = Math.max(highest, fenceTokenOf({ timestamp: BigInt(written.toString()) }));
    }
    return highest;
  });
}
