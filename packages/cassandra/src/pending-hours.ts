import cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';

/** A note that an hour's numbers may have changed; removed by exactly its own id. */
export interface PendingHour {
  hourMs: number;
  marker: string;
}

export interface PendingHoursRepository {
  /** Records that these hours received events (one fresh marker per hour); call after the events are written. */
  mark(hoursMs: readonly number[]): Promise<void>;
  /** Every marker present now. */
  list(): Promise<PendingHour[]>;
  /** Removes exactly these markers; markers written meanwhile by ingest stay. */
  remove(markers: readonly PendingHour[]): Promise<void>;
}

export function createPendingHoursRepository(client: CassandraClient): PendingHoursRepository {
  const ks = client.keyspace;
  return {
    async mark(hoursMs) {
      const params = [...new Set(hoursMs)].map((h) => [0, new Date(h), cassandra.types.TimeUuid.now()]);
      if (params.length === 0) return;
      // Idempotent: the marker id is chosen here, so a retry (on another host) writes the same row.
      await withClassifiedErrors(() =>
        Promise.all(
          params.map((p) =>
            client.driver.execute(`INSERT INTO ${ks}.pending_hours (shard, hour, marker) VALUES (?, ?, ?)`, p, {
              prepare: true,
              isIdempotent: true,
            }),
          ),
        ),
      );
    },
    async list() {
      const result: PendingHour[] = [];
      await withClassifiedErrors(async () => {
        for await (const r of pagedRows(client, `SELECT hour, marker FROM ${ks}.pending_hours WHERE shard = 0`, [])) {
          result.push({ hourMs: (r.get('hour') as Date).getTime(), marker: String(r.get('marker')) });
        }
      });
      return result;
    },
    async remove(markers) {
      if (markers.length === 0) return;
      const params = markers.map((m) => [0, new Date(m.hourMs), cassandra.types.TimeUuid.fromString(m.marker)]);
      await withClassifiedErrors(() =>
        cassandra.concurrent.executeConcurrent(
          client.driver,
          `DELETE FROM ${ks}.pending_hours WHERE shard = ? AND hour = ? AND marker = ?`,
          params,
          {
            concurrencyLevel: 16,
          },
        ),
      );
    },
  };
}
