import { setTimeout as sleep } from 'node:timers/promises';

/** True for errors whose `retriable` property is true (the project's typed infrastructure errors). */
export function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'retriable' in err && err.retriable === true;
}

/** Retries were used up; `cause` is the last failure. Not retriable itself: the caller should give up. */
export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';
  readonly code = 'retries_exhausted';
  readonly retriable = false;
  readonly attempts: number;

  constructor(what: string, attempts: number, options: { cause: unknown }) {
    super(`${what} failed after ${attempts} attempts`, options);
    this.attempts = attempts;
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first one included (>= 1). */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Runs `operation` until it succeeds. A retriable failure (see {@link isRetriable}) is retried after
 * an exponentially growing, jittered delay, up to `policy.attempts` attempts in all, then
 * {@link RetriesExhaustedError} is thrown. A non-retriable failure is rethrown at once. `signal`
 * aborts the waiting between attempts. `between` runs before and after each wait (a consumer's
 * heartbeat, so a long retry does not cost the group membership); a failure of it is the caller's
 * to handle inside it.
 */
export async function retryWithBackoff<T>(
  what: string,
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: {
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
    between?: () => Promise<void>;
    signal?: AbortSignal;
    random?: () => number;
  } = {},
): Promise<T> {
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (!isRetriable(err)) throw err;
      if (attempt >= policy.attempts) throw new RetriesExhaustedError(what, attempt, { cause: err });
      const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (random() * ceiling) / 2);
      hooks.onRetry?.(err, attempt, delayMs);
      await hooks.between?.();
      await sleep(delayMs, undefined, hooks.signal ? { signal: hooks.signal } : {});
      await hooks.between?.();
    }
  }
}
