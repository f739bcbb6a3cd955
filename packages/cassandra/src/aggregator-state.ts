import type { CassandraClient } from './cassandra-client.ts';
import { createAllTimeState } from './all-time-state.ts';
import type { AllTimeState } from './all-time-state.ts';
import { createDayState } from './day-state.ts';
import type { DayState } from './day-state.ts';
import { createHourState } from './hour-state.ts';
import type { HourState } from './hour-state.ts';
import { createStateRequests } from './state-requests.ts';
import { createWindowState } from './window-state.ts';
import type { WindowState } from './window-state.ts';

/**
 * The aggregator's state in Cassandra. Replacing a window's state writes the difference between
 * what was read before (`previous`) and the new state, so replaying a replacement is harmless and
 * a (url, country) or user that left the window is removed, not left behind. Every write carries
 * a timestamp of the run's `WriteFence`, so a replica that lost its lease cannot overwrite
 * a newer holder's state. Transient failures throw CassandraUnavailableError (retry the call).
 * Its parts, one file each: hours (hour-state.ts), days (day-state.ts), all time
 * (all-time-state.ts), windows (window-state.ts).
 */
export interface AggregatorStateRepository extends HourState, DayState, AllTimeState, WindowState {}

/**
 * The repository over one keyspace: its parts share one set of requests (a batcher of group
 * writes, the concurrency, the per-user rows' TTL).
 * @param options.userStateTtlSeconds TTL of the per-user rows (hour users, all-time users) and of the day roll-up marks; 0 keeps them forever.
 * @param options.pageGroups groups per page of a window read a page at a time (default 5,000).
 */
export function createAggregatorStateRepository(
  client: CassandraClient,
  options: { concurrency: number; userStateTtlSeconds?: number; pageGroups?: number },
): AggregatorStateRepository {
  const requests = createStateRequests(client, options);
  return { ...createHourState(requests), ...createDayState(requests), ...createAllTimeState(requests), ...createWindowState(requests) };
}
