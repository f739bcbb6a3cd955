/**
 * Admission of API calls: at most `maxInFlight` run at once (each holds an Elasticsearch response
 * while it is parsed and turned into JSON, ~0.5 MB for the longest chart ranges), at most
 * `maxWaiting` more wait for a slot, each no longer than `maxWaitMs`; the rest are refused at once.
 *
 * Without it every request ran its query at once: 1,000 clients asking for 10 years of days took
 * the dashboard to 505 MiB resident (its pod's limit is 256 MiB) and every answer to 17 s.
 */
export interface QueryGate {
  /**
   * Runs `work` once a slot is free, or resolves `{ admitted: false }` without running it when
   * `maxWaiting` calls wait already or no slot freed within `maxWaitMs`. Never rejects unless
   * `work` does.
   */
  run<T>(work: () => Promise<T>): Promise<{ readonly admitted: true; readonly value: T } | { readonly admitted: false }>;
  /** Calls running now. */
  inFlight(): number;
  /** Calls waiting for a slot now. */
  waiting(): number;
}

export function createQueryGate(limits: { maxInFlight: number; maxWaiting: number; maxWaitMs: number }): QueryGate {
  let running = 0;
  // Each waiter is told whether it got a slot (true) or gave up waiting (false).
  const queue: ((admitted: boolean) => void)[] = [];

  const release = (): void => {
    const next = queue.shift();
    if (next === undefined) running -= 1;
    // The slot passes straight to the next waiter: `running` stays the same.
    else next(true);
  };

  const slot = (): Promise<boolean> => {
    if (running < limits.maxInFlight) {
      running += 1;
      return Promise.resolve(true);
    }
    if (queue.length >= limits.maxWaiting) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const at = queue.indexOf(waiter);
        if (at !== -1) queue.splice(at, 1);
        resolve(false);
      }, limits.maxWaitMs);
      const waiter = (admitted: boolean): void => {
        clearTimeout(timer);
        resolve(admitted);
      };
      queue.push(waiter);
    });
  };

  return {
    async run(work) {
      if (!(await slot())) return { admitted: false };
      try {
        return { admitted: true, value: await work() };
      } finally {
        release();
      }
    },
    inFlight: () => running,
    waiting: () => queue.length,
  };
}
