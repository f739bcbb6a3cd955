/**
 * Shares pending-hour marker writes between the batches in flight: the batches whose rows became
 * durable while a marker round was being written wait for that round to end and are then marked
 * together, in one round over the union of their hours. Counter increments of the same hours by
 * several batches are one increment instead of one per batch (fewer round trips, less counter
 * contention on the `day_changes` partition every batch touches).
 *
 * Promise per caller, unchanged by the sharing: `mark(hours)` resolves only after a round that
 * started after the call (so after the caller's rows were durable) wrote every one of `hours`; it
 * rejects with that round's error, and the caller retries as before (a retry joins a later round).
 * At most one round is in flight at a time.
 */
export function createCoalescedMarks(
  markRound: (hoursMs: readonly number[]) => Promise<void>,
): (hoursMs: readonly number[]) => Promise<void> {
  interface Round {
    hours: Set<number>;
    done: Promise<void>;
    settle: (err?: unknown) => void;
  }
  let running = false;
  let next: Round | undefined;

  const open = (): Round => {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { hours: new Set(), done, settle: (err) => (err === undefined ? resolve() : reject(err)) };
  };

  const drain = async (): Promise<void> => {
    running = true;
    try {
      while (next) {
        const round = next;
        next = undefined;
        try {
          await markRound([...round.hours].sort((a, b) => a - b));
          round.settle();
        } catch (err) {
          round.settle(err ?? new Error('marker round failed'));
        }
      }
    } finally {
      running = false;
    }
  };

  return (hoursMs) => {
    if (hoursMs.length === 0) return Promise.resolve();
    next ??= open();
    for (const hour of hoursMs) next.hours.add(hour);
    const { done } = next;
    if (!running) void drain();
    return done;
  };
}
