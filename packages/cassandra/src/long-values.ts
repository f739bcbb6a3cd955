import cassandra from 'cassandra-driver';

/** A number as the value of a `bigint` or `counter` column. */
export const long = (value: number): cassandra.types.Long => cassandra.types.Long.fromNumber(value);

/**
 * A `bigint` or `counter` column's value as a number (`null`: 0). The driver gives a `Long`,
 * which `Number()` would convert through its decimal string: the aggregator reads several such
 * values per stored group, so the direct conversion is used.
 */
export function numberOf(value: unknown): number {
  return value instanceof cassandra.types.Long ? value.toNumber() : Number(value);
}
