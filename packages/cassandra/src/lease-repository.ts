import cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { long } from './long-values.ts';

/**
 * Named leases held by one holder at a time, through lightweight transactions (Paxos, SERIAL
 * consistency) and a TTL, so that a holder that dies without releasing loses its lease once the
 * TTL runs out. Every grant comes with a fencing token, one more than the previous grant's (the
 * token never expires), taken in the same transaction as the lease: the holder writes with it
 * and the stores refuse (or outrank) writes of smaller tokens. Transient failures throw
 * CassandraUnavailableError.
 */
export interface LeaseRepository {
  /**
   * Takes the lease when nobody holds it, or takes up again the grant `holder` has already (an
   * attempt whose answer was lost, a release that failed), renewed for `ttlMs` under its token:
   * one holder never waits out its own lease, and never gets a second grant beside its first.
   *
   * @returns the grant's fencing token, or null when another holder has the lease.
   */
  tryAcquire(name: string, holder: string, ttlMs: number): Promise<number | null>;
  /** Extends the grant by a fresh TTL; false when it is no longer held (expired, or taken with a newer token). */
  renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean>;
  /** Gives the grant up when it is still held; otherwise does nothing. */
  release(name: string, holder: string, token: number): Promise<void>;
  /** Who holds the lease now, or null. */
  holderOf(name: string): Promise<string | null>;
}

const lwtOptions = { prepare: true, serialConsistency: cassandra.types.consistencies.localSerial };

/** Cassandra TTLs are whole seconds; rounding up never shortens a lease. */
const ttlSeconds = (ttlMs: number): number => Math.max(1, Math.ceil(ttlMs / 1_000));

/**
 * @param options.highestTokenUsed the highest fencing token the stores hold writes of (0: none),
 *   asked only when the lease has no token stored (a new keyspace, or its row lost: TRUNCATE,
 *   DELETE): the next grant then takes the token after it, not 1. Tokens starting again from 1
 *   behind writes of larger ones would have every write refused (Elasticsearch: 409) or silently
 *   outranked (Cassandra) until as many grants had passed as before.
 */
export function createLeaseRepository(
  client: CassandraClient,
  options: { highestTokenUsed?: () => Promise<number> } = {},
): LeaseRepository {
  const ks = client.keyspace;
  async function renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    const result = await withClassifiedErrors(() =>
      client.driver.execute(
        `UPDATE ${ks}.lease_grants USING TTL ? SET holder = ? WHERE name = ? IF holder = ? AND fencing_token = ?`,
        [ttlSeconds(ttlMs), holder, name, holder, long(token)],
        lwtOptions,
      ),
    );
    return result.wasApplied();
  }
  return {
    async tryAcquire(name, holder, ttlMs) {
      return withClassifiedErrors(async () => {
        const current = await client.driver.execute(`SELECT holder, fencing_token FROM ${ks}.lease_grants WHERE name = ?`, [name], {
          prepare: true,
          consistency: cassandra.types.consistencies.serial,
        });
        const row = current.first();
        const previous = row === null ? null : (row.get('fencing_token') as cassandra.types.Long | null);
        if (row !== null && row.get('holder') !== null) {
          if (row.get('holder') !== holder || previous === null) return null;
          return (await renew(name, holder, previous.toNumber(), ttlMs)) ? previous.toNumber() : null;
        }
        const token = previous === null ? (await (options.highestTokenUsed?.() ?? 0)) + 1 : previous.toNumber() + 1;
        // One partition, one Paxos round: the holder (with its TTL) and the token (without one,
        // so tokens keep growing across expiries) change together, only if nobody took either.
        const result = await client.driver.batch(
          [
            {
              query: `UPDATE ${ks}.lease_grants USING TTL ? SET holder = ? WHERE name = ? IF holder = null AND fencing_token = ?`,
              params: [ttlSeconds(ttlMs), holder, name, previous],
            },
            { query: `UPDATE ${ks}.lease_grants SET fencing_token = ? WHERE name = ?`, params: [long(token), name] },
          ],
          lwtOptions,
        );
        return result.wasApplied() ? token : null;
      });
    },
    renew,
    async release(name, holder, token) {
      await withClassifiedErrors(() =>
        client.driver.execute(
          `DELETE holder FROM ${ks}.lease_grants WHERE name = ? IF holder = ? AND fencing_token = ?`,
          [name, holder, long(token)],
          lwtOptions,
        ),
      );
    },
    async holderOf(name) {
      const result = await withClassifiedErrors(() =>
        client.driver.execute(`SELECT holder FROM ${ks}.lease_grants WHERE name = ?`, [name], {
          prepare: true,
          consistency: cassandra.types.consistencies.serial,
        }),
      );
      return (result.first()?.get('holder') as string | null | undefined) ?? null;
    },
  };
}
