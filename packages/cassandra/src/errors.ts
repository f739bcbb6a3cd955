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

/** Cassandra could not take or answer a request right now (timeout, unavailable, overloaded, no host): retry with backoff. */
export class CassandraUnavailableError extends Error {
  override readonly name = 'CassandraUnavailableError';
  readonly code = 'cassandra_unavailable';
  readonly retriable = true;
}

/**
 * Maps a driver error to {@link CassandraUnavailableError} when it is transient; any other error
 * (syntax, schema, authentication) is returned unchanged and is not retriable.
 */
export function classifyCassandraError(err: unknown): unknown {
  const transient =
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError ||
    (err instanceof errors.ResponseError && transientCodes.has(err.code));
  return transient ? new CassandraUnavailableError(err instanceof Error ? err.message : String(err), { cause: err }) : err;
}

/** Runs a Cassandra operation, rethrowing transient driver errors as {@link CassandraUnavailableError}. */
export async function withClassifiedErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw classifyCassandraError(err);
  }
}
