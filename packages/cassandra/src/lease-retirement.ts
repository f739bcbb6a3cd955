import cassandra from 'cassandra-driver';
import type { Logger } from '@clickstream/observability';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { tableExists } from './legacy-copy.ts';
import { long, numberOf } from './long-values.ts';

/**
 * The lease this release's aggregators compete for. Earlier releases took `aggregation`, and up
 * to `005a5dd` wrote under another fencing layout (token x 2^20 instead of x 2^32), so that an
 * earlier replica granted the lease after a replica of this release had written would write
 * below it: some of its writes land, others are outranked, and the numbers stay wrong for good.
 * A name of its own lets {@link retireEarlierLeases} close the old one to them.
 */
export const AGGREGATION_LEASE = 'aggregation-v2';

/** The lease earlier releases take: in `lease_grants` since fencing tokens, in `leases` before. */
const EARLIER_LEASE = 'aggregation';

/** The holder left on the earlier lease for good: an earlier replica finds it held and skips every run. */
const RETIRED_PREFIX = 'retired: ';
const RETIRED_HOLDER = `${RETIRED_PREFIX}this keyspace's aggregators take the lease '${AGGREGATION_LEASE}'; stop this replica and upgrade it`;

const serialRead = { prepare: true, consistency: cassandra.types.consistencies.serial };
const lwtOptions = { prepare: true, serialConsistency: cassandra.types.consistencies.localSerial };

/** Rounds of read-then-swap before giving up: each lost round means an earlier replica took or renewed the lease meanwhile. */
const MAX_ROUNDS = 10;

/**
 * Closes the lease of earlier releases to them, for good, and carries its fencing token over to
 * {@link AGGREGATION_LEASE}, so that the first grant of this release comes after every grant an
 * earlier one took. An earlier replica holding the lease at that moment loses it (its renewal is
 * refused, its run aborts at its next check) and this release's replicas wait out what was left
 * of its TTL before their first grant. Idempotent and cheap once done (one read); run by
 * `npm run migrate` and at every aggregator start, before any run (with retries: its Paxos rounds
 * time out while a lost node is not yet marked down).
 *
 * @throws CassandraUnavailableError on transient failures; Error when earlier replicas kept
 *   changing the lease for {@link MAX_ROUNDS} rounds.
 */
export async function retireEarlierLeases(client: CassandraClient, logger: Logger): Promise<void> {
  const ks = client.keyspace;
  return withClassifiedErrors(async () => {
    // Before fencing tokens: `INSERT ... IF NOT EXISTS` into `leases` took it, so a row without a TTL keeps it taken.
    if (await tableExists(client, 'leases'))
      await client.driver.execute(`INSERT INTO ${ks}.leases (name, holder) VALUES (?, ?)`, [EARLIER_LEASE, RETIRED_HOLDER], {
        prepare: true,
      });

    for (let round = 0; round < MAX_ROUNDS; round++) {
      const earlier = (
        await client.driver.execute(
          `SELECT holder, TTL(holder) AS holder_ttl, fencing_token FROM ${ks}.lease_grants WHERE name = ?`,
          [EARLIER_LEASE],
          serialRead,
        )
      ).first();
      const holder = (earlier?.get('holder') as string | null | undefined) ?? null;
      if (holder?.startsWith(RETIRED_PREFIX) === true) return;
      const token = (earlier?.get('fencing_token') as cassandra.types.Long | null | undefined) ?? null;
      const leftMs = holder === null ? 0 : numberOf(earlier?.get('holder_ttl') ?? 0) * 1_000;
      // Carried over first: a start that dies between the two steps finds the earlier lease open and does both again.
      if (token !== null) await carryTokenOver(client, token.toNumber(), holder, leftMs);
      const retired = await client.driver.execute(
        `UPDATE ${ks}.lease_grants SET holder = ? WHERE name = ? IF holder = ? AND fencing_token = ?`,
        [RETIRED_HOLDER, EARLIER_LEASE, holder, token],
        lwtOptions,
      );
      if (!retired.wasApplied()) continue;
      if (holder !== null)
        logger.warn(
          { lease: EARLIER_LEASE, holder, token: token?.toNumber(), waitMs: leftMs },
          'an aggregator of an earlier release held the lease: it is cut off, and this release waits out its grant before its first run',
        );
      logger.info(
        { lease: EARLIER_LEASE, now: AGGREGATION_LEASE },
        "the earlier releases' aggregator lease is retired: their replicas stay idle",
      );
      return;
    }
    throw new Error(
      `the lease '${EARLIER_LEASE}' kept changing while it was retired: stop the aggregators of earlier releases and start again`,
    );
  });
}

/** The holder that keeps this release's replicas waiting while a cut-off earlier grant may still write. */
const EARLIER_GRANT_PREFIX = 'earlier release: ';

/**
 * Raises the current lease's token to the earlier one's when below it (never lowers it), and
 * holds the lease for what was left of a cut-off earlier grant (unless a replica of this release
 * holds it), so that no replica of this release writes while that one may still be finishing its run.
 */
async function carryTokenOver(client: CassandraClient, earlierToken: number, earlierHolder: string | null, leftMs: number): Promise<void> {
  const ks = client.keyspace;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = (
      await client.driver.execute(`SELECT holder, fencing_token FROM ${ks}.lease_grants WHERE name = ?`, [AGGREGATION_LEASE], serialRead)
    ).first();
    const token = (current?.get('fencing_token') as cassandra.types.Long | null | undefined) ?? null;
    const holder = (current?.get('holder') as string | null | undefined) ?? null;
    const raise = token === null || token.toNumber() < earlierToken;
    const hold = earlierHolder !== null && leftMs > 0 && (holder === null || holder.startsWith(EARLIER_GRANT_PREFIX));
    if (!raise && !hold) return;
    // One partition, one Paxos round: the token without a TTL (it only grows), the holder with what was left of the earlier grant.
    const statements = [
      {
        query: `UPDATE ${ks}.lease_grants SET fencing_token = ? WHERE name = ? IF fencing_token = ? AND holder = ?`,
        params: [raise ? long(earlierToken) : token, AGGREGATION_LEASE, token, holder],
      },
      ...(hold
        ? [
            {
              query: `UPDATE ${ks}.lease_grants USING TTL ? SET holder = ? WHERE name = ?`,
              params: [Math.ceil(leftMs / 1_000), `${EARLIER_GRANT_PREFIX}${earlierHolder}`, AGGREGATION_LEASE],
            },
          ]
        : []),
    ];
    if ((await client.driver.batch(statements, lwtOptions)).wasApplied()) return;
  }
  throw new Error(`the lease '${AGGREGATION_LEASE}' kept changing while its token was carried over: start again`);
}
