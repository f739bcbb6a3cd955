/**
 * A failure to reach a server on this machine's own loopback address is, in a checkout, almost
 * always servers that are not started: the fatal line of a service says so (a deployment never
 * points its services at 127.0.0.1, so the hint does not show there).
 */

/** What a fatal line adds when the failure is a connection refused on this machine. */
export const LOCAL_SERVERS_HINT =
  'nothing listens at that address on this machine: start the servers first (npm run stack:up, or npm run demo; README, Commands)';

/** `ECONNREFUSED 127.0.0.1:9042`, `ECONNREFUSED ::1:9200`, as Node and the clients word it. */
const REFUSED_ON_LOOPBACK = /\bECONNREFUSED (127(?:\.\d{1,3}){3}|::1|\[::1\])(?::\d+)?(?![\w.])/;
const LOOPBACK_ADDRESS = /^(127(?:\.\d{1,3}){3}|::1)$/;
/** Causes followed at most: error chains are short, and a cycle must not loop. */
const MAX_DEPTH = 8;

/**
 * {@link LOCAL_SERVERS_HINT} when `err`, one of its causes, or one of an AggregateError's errors is
 * a connection refused on a loopback address (by its `code` and `address`, or its message);
 * otherwise undefined.
 */
export function localServersHint(err: unknown): string | undefined {
  const seen = new Set<object>();
  const refusedHere = (value: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || seen.has(value)) return false;
    seen.add(value);
    const { code, address, message, cause, errors } = value as Record<string, unknown>;
    if (code === 'ECONNREFUSED' && typeof address === 'string' && LOOPBACK_ADDRESS.test(address)) return true;
    if (typeof message === 'string' && REFUSED_ON_LOOPBACK.test(message)) return true;
    return refusedHere(cause, depth + 1) || (Array.isArray(errors) && errors.some((inner) => refusedHere(inner, depth + 1)));
  };
  return refusedHere(err, 0) ? LOCAL_SERVERS_HINT : undefined;
}
