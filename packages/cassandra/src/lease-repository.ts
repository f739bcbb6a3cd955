import cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';

/**
 * Named leases held by one holder at a time, through lightweight transactions (Paxos, SERIAL
 * consistency) and a TTL, so that a holder that dies without releasing loses its lease once the
 * TTL runs out. Transient failures throw CassandraUnavailableError.
 */
export interface LeaseRepository {
  /** Takes the lease when nobody holds it; true when `holder` got it (a holder does not re-take its own lease: it renews). */
  tryAcquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends `holder`'s lease by a fresh TTL; false when `holder` no longer holds it (expired or taken). */
  renew(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up when `holder` still holds it; otherwise does nothing. */
  release(name: string, holder: string): Promise<void>;
  /** Who holds the lease now, or null. */
  holderOf(name: string): Promise<string | null>;
}

const lwtOptions = { prepare: true, serialConsistency: cassandra.types.consistencies.localSerial };

/** Cassandra TTLs are whole seconds; rounding up never shortens a lease. */
const ttlSeconds = (ttlMs: number): number => Math.max(1, Math.ceil(ttlMs / 1_000));

export function createLeaseRepository(client: CassandraClient): LeaseRepository {
  const ks = client.keyspace;
  return {
    async tryAcquire(name, holder, ttlMs) {
      const result = await withClassifiedErrors(() =>
        client.driver.execute(
          `INSERT INTO ${ks}.leases (name, holder) VALUES (?, ?) IF NOT EXISTS USING TTL ?`,
          [name, holder, ttlSeconds(ttlMs)],
          lwtOptions,
        ),
      );
      return result.wasApplied();
    },
    async renew(name, holder, ttlMs) {
      const result = await withClassifiedErrors(() =>
        client.driver.execute(
          `UPDATE ${ks}.leases USING TTL ? SET holder = ? WHERE name = ? IF holder = ?`,
          [ttlSeconds(ttlMs), holder, name, holder],
          lwtOptions,
        ),
      );
      return result.wasApplied();
    },
    async release(name, holder) {
      await withClassifiedErrors(() =>
        client.driver.execute(`DELETE FROM ${ks}.leases WHERE name = ? IF holder = ?`, [name, holder], lwtOptions),
      );
    },
    async holderOf(name) {
      const result = await withClassifiedErrors(() =>
        client.driver.execute(`SELECT holder FROM ${ks}.leases WHERE name = ?`, [name], {
          prepare: true,
          consistency: cassandra.types.consistencies.serial,
        }),
      );
      return (result.first()?.get('holder') as string | undefined) ?? null;
    },
  };
}
