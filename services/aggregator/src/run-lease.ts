import type { LeaseRepository } from '@clickstream/cassandra';
import type { Logger } from '@clickstream/observability';

/** The lease ran out or was taken while a run held it: the run stops before writing more. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'lease_lost';
  /** A later run can take the lease again and redo the work (markers are only removed at the end). */
  readonly retriable = true;
}

export type LeasedOutcome<T> = { readonly acquired: false } | { readonly acquired: true; readonly result: T };

/**
 * Runs `work` while holding the named lease, so that of several replicas one works at a time.
 * The lease is taken with a TTL and renewed every third of it; when a renewal is refused, or
 * renewals keep failing for half the TTL, `work`'s signal aborts with {@link LeaseLostError}
 * (work must check the signal before each write). The lease is released at the end.
 *
 * @returns `{ acquired: false }` at once when another holder has the lease.
 */
export async function withLease<T>(
  leases: LeaseRepository,
  options: { name: string; holder: string; ttlMs: number; logger: Logger },
  work: (signal: AbortSignal) => Promise<T>,
): Promise<LeasedOutcome<T>> {
  const { name, holder, ttlMs, logger } = options;
  if (!(await leases.tryAcquire(name, holder, ttlMs))) return { acquired: false };
  const controller = new AbortController();
  let lastRenewedMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let renewal: Promise<void> = Promise.resolve();
  let finished = false;

  const renew = async (): Promise<void> => {
    try {
      if (await leases.renew(name, holder, ttlMs)) {
        lastRenewedMs = Date.now();
      } else {
        controller.abort(new LeaseLostError(`lease '${name}' was lost: another holder has it or it expired`));
      }
    } catch (err) {
      logger.warn({ err, lease: name }, 'lease renewal failed');
      if (Date.now() - lastRenewedMs > ttlMs / 2) {
        controller.abort(new LeaseLostError(`lease '${name}' could not be renewed for ${Date.now() - lastRenewedMs} ms`, { cause: err }));
      }
    }
  };
  const schedule = (): void => {
    timer = setTimeout(() => {
      renewal = renew().then(() => {
        if (!finished && !controller.signal.aborted) schedule();
      });
    }, ttlMs / 3);
  };

  schedule();
  try {
    return { acquired: true, result: await work(controller.signal) };
  } finally {
    finished = true;
    clearTimeout(timer);
    await renewal;
    if (!controller.signal.aborted) {
      await leases
        .release(name, holder)
        .catch((err: unknown) => logger.warn({ err, lease: name }, 'lease release failed; it expires with its TTL'));
    }
  }
}
