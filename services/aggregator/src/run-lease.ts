import type { LeaseRepository } from '@clickstream/cassandra';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';

/** The lease ran out or was taken while a run held it: the run stops before writing more. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'lease_lost';
  /** A later run can take the lease again and redo the work (markers are only released at the end). */
  readonly retriable = true;
}

/** What a holder of the lease works with: the signal that aborts when the lease is lost, and the grant's fencing token. */
export interface LeaseGrant {
  readonly signal: AbortSignal;
  /** Larger for every grant; the stores outrank or refuse writes made under smaller tokens. */
  readonly token: number;
}

export type LeasedOutcome<T> = { readonly acquired: false } | { readonly acquired: true; readonly result: T };

/** How the lease keeps time; real timers by default, fakes in unit tests. */
export interface LeaseClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): { cancel(): void };
}

const realClock: LeaseClock = {
  // Monotonic: a step of the wall clock (NTP, a resumed node) must not move how long ago the
  // last renewal was (a day forward aborted a healthy run at its first failed renewal; a step
  // back kept a run whose renewals failed for longer than its TTL).
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * Runs `work` while holding the named lease, so that of several replicas one works at a time.
 * The lease is taken with a TTL and renewed every third of it; when a renewal is refused, or
 * renewals keep failing for half the TTL, the grant's signal aborts with {@link LeaseLostError}
 * (work checks it before each write). The signal is a courtesy: a holder paused past the TTL
 * cannot notice in time, which is why every write also carries the grant's token. The lease is
 * released at the end.
 *
 * @returns `{ acquired: false }` at once when another holder has the lease.
 * @throws RetriesExhaustedError when taking the lease kept failing for `acquireRetry`'s attempts.
 */
export async function withLease<T>(
  leases: LeaseRepository,
  options: { name: string; holder: string; ttlMs: number; logger: Logger; clock?: LeaseClock; acquireRetry?: RetryPolicy },
  work: (grant: LeaseGrant) => Promise<T>,
): Promise<LeasedOutcome<T>> {
  const { name, holder, ttlMs, logger } = options;
  const clock = options.clock ?? realClock;
  // A transient failure (a node just lost, not yet marked down) is retried. Should a timed-out
  // attempt have taken the lease after all, the next one takes that grant up again (the holder
  // is this process's own): never two holders, and no wait for the TTL.
  const token = await retryWithBackoff(
    `taking the lease '${name}'`,
    () => leases.tryAcquire(name, holder, ttlMs),
    options.acquireRetry ?? { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
    { onRetry: (err, attempt, delayMs) => logger.warn({ err, attempt, delayMs, lease: name }, 'taking the lease failed, retrying') },
  );
  if (token === null) return { acquired: false };
  const controller = new AbortController();
  let lastRenewedMs = clock.now();
  let timer: { cancel(): void } | undefined;
  let renewal: Promise<void> = Promise.resolve();
  let finished = false;

  const renew = async (): Promise<void> => {
    try {
      if (await leases.renew(name, holder, token, ttlMs)) {
        lastRenewedMs = clock.now();
      } else {
        controller.abort(new LeaseLostError(`lease '${name}' was lost: another holder has it or it expired`));
      }
    } catch (err) {
      logger.warn({ err, lease: name }, 'lease renewal failed');
      const sinceMs = clock.now() - lastRenewedMs;
      if (sinceMs > ttlMs / 2) {
        controller.abort(new LeaseLostError(`lease '${name}' could not be renewed for ${sinceMs} ms`, { cause: err }));
      }
    }
  };
  const schedule = (): void => {
    timer = clock.setTimeout(() => {
      renewal = renew().then(() => {
        if (!finished && !controller.signal.aborted) schedule();
      });
    }, ttlMs / 3);
  };

  schedule();
  try {
    return { acquired: true, result: await work({ signal: controller.signal, token }) };
  } finally {
    finished = true;
    timer?.cancel();
    await renewal;
    if (!controller.signal.aborted) {
      await leases
        .release(name, holder, token)
        .catch((err: unknown) => logger.warn({ err, lease: name }, 'lease release failed; it expires with its TTL'));
    }
  }
}
