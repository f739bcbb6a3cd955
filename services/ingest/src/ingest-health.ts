import type { Liveness, Readiness } from '@clickstream/observability';
import type { StoreWatch } from './batch-handler.ts';

export interface IngestHealth extends StoreWatch {
  /** A write step is retrying (true) or over (false). */
  setRetrying(retrying: boolean): void;
  /** An offset was committed: the consumer made progress. */
  progressed(): void;
  /** The latest lag over the partitions this member owns. */
  setLag(totalLag: number): void;
  /** For `/readyz` (the lifecycle adds starting/stopping): not ready while retrying, or while a store operation has not returned for `storeStallMs`. */
  readiness(): Readiness;
  /** `/healthz`: unhealthy when the lag stayed above 0 without any commit for `progressStallMs`. */
  liveness(): Liveness;
}

/**
 * Readiness and liveness of an ingest process from what it observes itself. A store stall shows
 * within `storeStallMs` of the stalled request's start, not only after a failed attempt, because
 * every store operation is tracked while in flight.
 */
export function createIngestHealth(options: { storeStallMs: number; progressStallMs: number; now?: () => number }): IngestHealth {
  // Monotonic: a step of the wall clock must neither hide a stall (a step back of an hour did, for
  // the hour) nor invent one (a step forward).
  const now = options.now ?? (() => performance.now());
  const pending = new Map<number, number>();
  let nextId = 0;
  let retrying = 0;
  let lag = 0;
  let lastProgressMs = now();

  return {
    async track(operation) {
      const id = nextId++;
      pending.set(id, now());
      try {
        return await operation;
      } finally {
        pending.delete(id);
      }
    },
    setRetrying(value) {
      retrying = Math.max(0, retrying + (value ? 1 : -1));
    },
    progressed() {
      lastProgressMs = now();
    },
    setLag(totalLag) {
      // Progress is measured while there is work: an idle consumer with lag 0 is healthy however long it waits.
      if (lag === 0 && totalLag > 0) lastProgressMs = now();
      lag = totalLag;
    },
    readiness() {
      if (retrying > 0) return { ready: false, reason: 'writes failing, retrying' };
      let oldest = Infinity;
      for (const startedMs of pending.values()) oldest = Math.min(oldest, startedMs);
      const stalledMs = now() - oldest;
      if (stalledMs >= options.storeStallMs)
        return { ready: false, reason: `a Cassandra write has not returned for ${Math.round(stalledMs)} ms` };
      return { ready: true };
    },
    liveness() {
      if (lag === 0) return { healthy: true };
      const idleMs = now() - lastProgressMs;
      if (idleMs < options.progressStallMs) return { healthy: true };
      return { healthy: false, reason: `no offset committed for ${Math.round(idleMs / 1000)} s while ${lag} messages wait` };
    },
  };
}
