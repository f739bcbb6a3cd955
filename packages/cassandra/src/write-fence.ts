import cassandra from 'cassandra-driver';

/**
 * Write timestamps derived from a lease's fencing token instead of a clock. Every aggregator
 * state write carries `USING TIMESTAMP` from its run's fence, and Cassandra keeps the cell with
 * the highest timestamp: a replica whose lease was taken over (a smaller token) can no longer
 * overwrite what the new holder wrote, whatever the clocks of either say.
 *
 * Layout (microseconds, as Cassandra timestamps are): 2^52 (year 2112 in real time, so every
 * fenced write wins over state written with clock timestamps by earlier versions) + token * 2^32
 * + a sequence number within the run (so later writes of one run win over its earlier ones).
 * A run over months of backlog takes millions of timestamps (about one per group and day), so
 * the sequence has 32 bits; the earlier layout's 20 bits made such a run fail every time. Every
 * timestamp of a token is above every one of a smaller token in either layout.
 */
export interface WriteFence {
  readonly token: number;
  /** A timestamp above every earlier one of this fence and below every one of a larger token. */
  nextTimestamp(): cassandra.types.Long;
}

const BASE = 2n ** 52n;
const SEQUENCE_BITS = 32n;
const MAX_SEQUENCE = 2 ** 32 - 1;
/** The largest token whose timestamps fit Cassandra's signed 64 bits: about 2.1 billion grants (68 years of a run a second). */
const MAX_TOKEN = 2 ** 31 - 2 ** 20 - 1;

/**
 * The fence of a lease token (a positive safe integer, increasing with each grant).
 *
 * @throws RangeError on a token that is not a positive integer up to 2^31 - 2^20 - 1, or when a
 *   run takes more than 2^32 - 1 timestamps.
 */
export function createWriteFence(token: number): WriteFence {
  if (!Number.isSafeInteger(token) || token < 1 || token > MAX_TOKEN)
    throw new RangeError(`a fencing token must be an integer from 1 to ${MAX_TOKEN}, got ${token}`);
  let sequence = 0;
  return {
    token,
    nextTimestamp() {
      sequence += 1;
      if (sequence > MAX_SEQUENCE) throw new RangeError(`fence ${token} ran out of write timestamps`);
      return cassandra.types.Long.fromString((BASE + (BigInt(token) << SEQUENCE_BITS) + BigInt(sequence)).toString());
    },
  };
}

/**
 * The Elasticsearch external version of a write under this fence: the same order as its Cassandra
 * timestamps. A bigint: versions pass 2^53 once tokens pass 2^21, where a number would round
 * consecutive writes together.
 */
export function externalVersionOf(timestamp: cassandra.types.Long): bigint {
  return BigInt(timestamp.toString()) - BASE;
}

/**
 * The token of the fence behind a Cassandra write time (`timestamp`) or an Elasticsearch external
 * version (`version`, see {@link externalVersionOf}); 0 for a write time below every fence (a clock
 * time written by an earlier version).
 */
export function fenceTokenOf(value: { readonly timestamp: bigint } | { readonly version: bigint }): number {
  const version = 'version' in value ? value.version : value.timestamp - BASE;
  return version < 0n ? 0 : Number(version >> SEQUENCE_BITS);
}
