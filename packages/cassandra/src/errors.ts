import cassandra from 'cassandra-driver';

const { errors, types } = cassandra;
const transientCodes = new Set<number>([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.writeFailure,
  types.responseErrorCodes.readFailure,
]);

/** A missing table: "unconfigured table" up to Cassandra 4, "table <name> does not exist" in 5. */
const missingTable = /unconfigured table|table \S+ does not exist/i;
/** InvalidQuery answers about the rest of the schema: with a missing table, the statement itself cannot work. */
const schemaProblem = /keyspace .* does not exist|undefined column|unknown identifier|no keyspace has been specified/i;

/** True when Cassandra answered that the statement's table does not exist (its keyspace does). */
export function isMissingTable(err: unknown): boolean {
  return err instanceof errors.ResponseError && missingTable.test(err.message);
}

/** Cassandra could not take or answer a request right now (timeout, unavailable, overloaded, no host, closed socket): retry with backoff. */
export class CassandraUnavailableError extends Error {
  override readonly name = 'CassandraUnavailableError';
  readonly code = 'cassandra_unavailable';
  readonly retriable = true;
}

/** No contact point could be connected to (refused, unreachable, TLS or credentials refused) when the client started. */
export class CassandraConnectError extends Error {
  override readonly name = 'CassandraConnectError';
  readonly code = 'cassandra_connect_failed';
  readonly retriable = false;
}

/**
 * The driver's "All host(s) tried for query failed" names the first host's error through
 * `util.format`, which prints an Error with its stack and properties: a log line of several
 * kilobytes for every failed call of an outage. This says every host tried with its error's
 * message, on one line; the hosts' errors themselves are the cause (an AggregateError).
 */
function describeHostsTried(err: InstanceType<typeof errors.NoHostAvailableError>): { message: string; options: ErrorOptions } {
  const tried = Object.entries((err.innerErrors ?? {}) as Record<string, unknown>);
  if (tried.length === 0) return { message: err.message, options: { cause: err } };
  const reasons = tried.map(([host, inner]) => `${host}: ${(inner instanceof Error ? inner.message : String(inner)).replace(/\s+/g, ' ')}`);
  return {
    message: `every Cassandra host tried failed (${reasons.join('; ')})`,
    options: {
      cause: new AggregateError(
        tried.map(([, inner]) => inner),
        'the errors of the hosts tried',
      ),
    },
  };
}

/** The error a failed connection of the client is thrown as: {@link CassandraConnectError}, naming each host tried and why it failed. */
export function connectError(err: unknown): unknown {
  if (!(err instanceof errors.NoHostAvailableError)) return err;
  const { message, options } = describeHostsTried(err);
  return new CassandraConnectError(message, options);
}

/** A transient driver failure as {@link CassandraUnavailableError}, its message on one line. */
export function unavailableError(err: unknown): CassandraUnavailableError {
  if (err instanceof errors.NoHostAvailableError) {
    const { message, options } = describeHostsTried(err);
    return new CassandraUnavailableError(message, options);
  }
  return new CassandraUnavailableError(err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * True for failures of the connection or the cluster's state rather than of the statement: no
 * host, a timeout, a closed socket (the base DriverError the driver raises when a connection
 * drops mid-request), unavailable replicas, overload, a bootstrapping node, write/read failures.
 */
export function isTransientCassandraError(err: unknown): boolean {
  return (
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError ||
    (err instanceof errors.ResponseError && transientCodes.has(err.code)) ||
    // Exactly the base class: "Socket was closed", "Connection was closed"; subclasses name their cause.
    (err instanceof errors.DriverError && err.constructor === errors.DriverError)
  );
}

/**
 * True when Cassandra (or the driver's encoder, before sending) refused one statement for the
 * values it carries: an InvalidQuery about the data (a partition key over 64 KiB, a batch too
 * large, a value the server rejects) or a value the driver cannot encode. Not for schema problems
 * (a missing table is every row's problem, not this row's).
 */
export function isContentRejection(err: unknown): boolean {
  if (err instanceof errors.ResponseError)
    return (
      Number(err.code) === Number(types.responseErrorCodes.invalid) && !missingTable.test(err.message) && !schemaProblem.test(err.message)
    );
  return err instanceof TypeError || err instanceof RangeError;
}

/**
 * Maps a driver error to {@link CassandraUnavailableError} when it is transient; any other error
 * (syntax, schema, authentication) is returned unchanged and is not retriable.
 */
export function classifyCassandraError(err: unknown): unknown {
  return isTransientCassandraError(err) ? unavailableError(err) : err;
}

/** Runs a Cassandra operation, rethrowing transient driver errors as {@link CassandraUnavailableError}. */
export async function withClassifiedErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw classifyCassandraError(err);
  }
}
