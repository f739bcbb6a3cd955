import { readCassandraTimeMs } from './cassandra-client.ts';
import type { CassandraClient } from './cassandra-client.ts';

/** Another process's clock, followed locally between readings. */
export interface FollowedClock {
  /** The followed clock's time now, epoch ms: its last reading plus the monotonic time since. */
  nowMs(): number;
  /** Reads the followed clock again (done every `intervalMs`); a failed reading keeps the last one. */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Follows a clock read from elsewhere (a server's): read now and every `intervalMs`, and advanced
 * between readings by the local monotonic clock, so that a step of this node's wall clock changes
 * nothing and a reading costs nothing per call.
 *
 * @throws what the first reading throws.
 */
export async function followClock(options: {
  read: () => Promise<number>;
  intervalMs: number;
  monotonicMs?: () => number;
}): Promise<FollowedClock> {
  const monotonicMs = options.monotonicMs ?? (() => performance.now());
  let reading = { clockMs: 0, atMs: 0 };
  const read = async (): Promise<void> => {
    const sentMs = monotonicMs();
    const clockMs = await options.read();
    // The other side read its clock somewhere in the round trip: take its middle.
    reading = { clockMs, atMs: (sentMs + monotonicMs()) / 2 };
  };
  const refresh = (): Promise<void> => read().catch(() => undefined);
  await read();
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref();
  return {
    nowMs: () => Math.round(reading.clockMs + monotonicMs() - reading.atMs),
    refresh,
    stop: () => clearInterval(timer),
  };
}

/**
 * Cassandra's clock (see {@link readCassandraTimeMs}), read every `intervalMs`: the clock by which it
 * counts TTLs, which ingest's "ahead of its ingestion" must agree with.
 */
export function watchCassandraClock(client: CassandraClient, options: { intervalMs: number }): Promise<FollowedClock> {
  return followClock({ read: () => readCassandraTimeMs(client), intervalMs: options.intervalMs });
}
