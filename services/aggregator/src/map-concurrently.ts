/**
 * Maps `items` through `fn` with at most `limit` calls in flight; the results keep the input
 * order. Rejects with the first failure (calls already started are left to settle on their own,
 * and no new call starts after it).
 */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Waits for every one of `steps` to settle, then rejects with the first failure, if any: unlike
 * `Promise.all`, no step is still running (and writing) once the caller sees the failure.
 */
export async function settleAll(steps: readonly Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(steps)).find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
