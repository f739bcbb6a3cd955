/** Largest batch handed to one Kafka send. */
export const MAX_BATCH_SIZE = 500;

/**
 * Messages per send: 500 when the rate is unlimited, else about a tenth of a second's worth
 * (1..500), so a paced run sends ~10 batches a second instead of one burst per second.
 */
export function batchSizeFor(ratePerSec: number | null): number {
  if (ratePerSec === null) return MAX_BATCH_SIZE;
  return Math.min(MAX_BATCH_SIZE, Math.max(1, Math.ceil(ratePerSec / 10)));
}

/**
 * Allowance a paced run may bank: two batches. One would lose the fraction of a batch that
 * accrues while a timer fires late (about 1% too slow at 10 batches a second); more would let a
 * stall be made up for by a long burst.
 */
export function burstFor(batchSize: number): number {
  return 2 * batchSize;
}

export interface RateLimiter {
  /** Milliseconds until `size` messages may be sent (0 = now). Reads the clock, takes nothing. */
  waitMs(size: number): number;
  /** Takes `size` messages' worth of allowance now, going into debt if there is not enough. */
  take(size: number): void;
}

/**
 * A token bucket: allowance accrues at `ratePerSec` from creation, up to `burst` messages (so
 * an idle spell or a slow send is not made up for by a long burst; see {@link burstFor}). It starts
 * empty, so N messages take N / rate seconds overall. `nowMs` is a monotonic clock in ms.
 * A `take` beyond the allowance is remembered as debt and delays the next batch: rounding never
 * lets the average drift above the rate.
 */
export function createRateLimiter(options: { ratePerSec: number; burst: number; nowMs: () => number }): RateLimiter {
  const { ratePerSec, burst, nowMs } = options;
  if (!(ratePerSec > 0 && Number.isFinite(ratePerSec)))
    throw new RangeError(`ratePerSec must be a positive finite number, got ${ratePerSec}`);
  if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
  let tokens = 0;
  let lastMs = nowMs();

  const refill = (): void => {
    const now = nowMs();
    tokens = Math.min(burst, tokens + ((now - lastMs) * ratePerSec) / 1000);
    lastMs = now;
  };

  return {
    waitMs(size) {
      if (size > burst) throw new RangeError(`a batch of ${size} can never fit a burst of ${burst}`);
      refill();
      const missing = size - tokens;
      return missing <= 0 ? 0 : Math.ceil((missing * 1000) / ratePerSec);
    },
    take(size) {
      refill();
      tokens -= size;
    },
  };
}

/**
 * Waits until `size` messages may be sent, then takes them. Returns false without taking when
 * `sleep` reports that it was interrupted (the run is stopping).
 */
export async function acquire(limiter: RateLimiter, size: number, sleep: (ms: number) => Promise<boolean>): Promise<boolean> {
  for (let waitMs = limiter.waitMs(size); waitMs > 0; waitMs = limiter.waitMs(size)) {
    if (!(await sleep(waitMs))) return false;
  }
  limiter.take(size);
  return true;
}
