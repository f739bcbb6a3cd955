import type { AggregatorStateRepository, EventsRepository, OpenWindow, PendingHoursRepository } from '@clickstream/cassandra';
import type { MetricsIndexer, MetricWrite } from '@clickstream/elasticsearch';
import { HOUR_MS, SESSION_GAP_MS, aggregateHour, isFinal } from '@clickstream/metrics';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import { rollUpDay } from './day-rollup.ts';
import { mapConcurrently } from './map-concurrently.ts';
import { planRun, windowKey } from './run-plan.ts';
import { allTimeWrite, groupKey, windowWrites } from './window-documents.ts';
import type { GroupRef, WindowGroup } from './window-documents.ts';

export interface AggregationDependencies {
  readonly events: EventsRepository;
  readonly pendingHours: PendingHoursRepository;
  readonly state: AggregatorStateRepository;
  readonly indexer: MetricsIndexer;
  readonly allowedLatenessMs: number;
  /** Hours recomputed (or read back for a day) in parallel. */
  readonly hourConcurrency: number;
  /** (url, country) groups whose all-time document is computed in parallel. */
  readonly groupConcurrency: number;
  /** All-time documents computed and written per batch. */
  readonly bulkSize: number;
  /** For each Cassandra call; Elasticsearch writes retry inside the indexer. */
  readonly retry: RetryPolicy;
  readonly now: () => number;
  readonly logger: Logger;
  readonly onRetry?: (target: 'cassandra') => void;
}

/** What a run did: the windows it (re)indexed and the documents it wrote. */
export interface RunSummary {
  readonly pendingMarkers: number;
  readonly openWindows: number;
  readonly hours: number;
  readonly days: number;
  readonly finalised: number;
  readonly allTimeGroups: number;
  readonly indexed: number;
  readonly deleted: number;
}

/**
 * One aggregation pass over everything pending:
 * 1. every hour with a pending marker is recomputed from its events plus the 30-minute
 *    look-ahead, indexed, and stored as the hour's state (replacing the previous state);
 * 2. every day holding such an hour is rolled up from its stored hours, indexed and stored;
 * 3. open windows that became final meanwhile are re-indexed as final from their stored state;
 * 4. every (url, country) seen in steps 1-2 gets its all-time document from its stored day
 *    totals and its exact all-time user set;
 * 5. only then are exactly the markers listed at the start removed (markers written meanwhile stay).
 *
 * A failure at any point leaves the markers, so the next run redoes the work; every step is
 * idempotent (documents have deterministic ids, state is replaced, not added to). Documents go
 * to Elasticsearch before the state they come from is stored, so a crash in between cannot hide
 * a document that must be deleted. Memory is bounded by the largest window read: the events of
 * `hourConcurrency` hours, or one day's distinct (url, country, user) triples.
 *
 * @param signal aborts the run (lease lost, shutdown) before its next write.
 */
export async function runAggregation(deps: AggregationDependencies, signal: AbortSignal): Promise<RunSummary> {
  signal.throwIfAborted();
  const { state, indexer, logger } = deps;
  const nowMs = deps.now();
  const affectedGroups = new Map<string, GroupRef>();
  const counts = { hours: 0, days: 0, finalised: 0, indexed: 0, deleted: 0 };

  const withRetry = <T>(what: string, operation: () => Promise<T>): Promise<T> =>
    retryWithBackoff(what, operation, deps.retry, {
      signal,
      onRetry: (err, attempt, delayMs) => {
        deps.onRetry?.('cassandra');
        logger.warn({ err, attempt, delayMs }, `${what} failed, retrying`);
      },
    });
  const write = async (writes: readonly MetricWrite[]): Promise<void> => {
    signal.throwIfAborted();
    const written = await indexer.write(writes, signal);
    counts.indexed += written.indexed;
    counts.deleted += written.deleted;
  };
  const touch = (groups: readonly GroupRef[]): void => {
    for (const { urlKey, country } of groups) affectedGroups.set(groupKey({ urlKey, country }), { urlKey, country });
  };

  const markers = await withRetry('listing pending hours', () => deps.pendingHours.list());
  const openWindows = await withRetry('listing open windows', () => state.listOpenWindows());
  const open = new Set(openWindows.map(windowKey));
  const plan = planRun({ pendingHoursMs: markers.map((m) => m.hourMs), openWindows, nowMs, allowedLatenessMs: deps.allowedLatenessMs });

  /** Indexes a window's documents with its current final flag, keeping `open_windows` in step. */
  const publish = async (window: OpenWindow, groups: readonly WindowGroup[], previousGroups: readonly GroupRef[]): Promise<void> => {
    const final = isFinal(window.granularity, window.windowStartMs, nowMs, deps.allowedLatenessMs);
    const wasOpen = open.has(windowKey(window));
    // Recorded before the documents: a document indexed as not final always has a row to finalise it later.
    if (!final && !wasOpen) {
      await withRetry('recording an open window', () => state.markOpen([window]));
      open.add(windowKey(window));
    }
    await write(windowWrites({ ...window, groups, previousGroups, final, updatedAtMs: nowMs }));
    if (final && wasOpen) {
      await withRetry('recording a final window', () => state.markFinal([window]));
      open.delete(windowKey(window));
    }
  };

  const recomputeHour = async (hourMs: number): Promise<void> => {
    const at = new Date(hourMs).toISOString();
    const events = await withRetry(`reading the events of ${at}`, () => deps.events.readEvents(hourMs, hourMs + HOUR_MS + SESSION_GAP_MS));
    const next = aggregateHour(events, hourMs);
    const previous = await withRetry(`reading the state of ${at}`, () => state.readHour(hourMs));
    await publish(
      { granularity: 'hour', windowStartMs: hourMs },
      next.map((group) => ({ ...group, uniqueUsers: group.userIds.size })),
      previous,
    );
    signal.throwIfAborted();
    await withRetry(`storing the state of ${at}`, () => state.replaceHour(hourMs, next, previous));
    touch(next);
    touch(previous);
    counts.hours += 1;
  };

  const recomputeDay = async (dayMs: number): Promise<void> => {
    const at = new Date(dayMs).toISOString();
    const hoursMs = Array.from({ length: 24 }, (_, hour) => dayMs + hour * HOUR_MS);
    const hours = await mapConcurrently(hoursMs, deps.hourConcurrency, (hourMs) =>
      withRetry(`reading the state of ${new Date(hourMs).toISOString()}`, () => state.readHour(hourMs)),
    );
    const next = rollUpDay(hours);
    const previous = await withRetry(`reading the state of day ${at}`, () => state.readDay(dayMs));
    await publish({ granularity: 'day', windowStartMs: dayMs }, next, previous);
    signal.throwIfAborted();
    await withRetry(`storing the state of day ${at}`, () => state.replaceDay(dayMs, next, previous));
    touch(next);
    touch(previous);
    counts.days += 1;
  };

  for (const day of plan.days) {
    await mapConcurrently(day.hoursMs, deps.hourConcurrency, recomputeHour);
    await recomputeDay(day.dayMs);
  }

  for (const window of plan.toFinalise) {
    const groups = await withRetry(`reading the state of ${window.granularity} ${new Date(window.windowStartMs).toISOString()}`, () =>
      window.granularity === 'hour' ? state.readHourTotals(window.windowStartMs) : state.readDay(window.windowStartMs),
    );
    await publish(window, groups, groups);
    counts.finalised += 1;
  }

  const groups = [...affectedGroups.values()];
  for (let start = 0; start < groups.length; start += deps.bulkSize) {
    const writes = await mapConcurrently(groups.slice(start, start + deps.bulkSize), deps.groupConcurrency, async (group) => {
      const [days, uniqueUsers] = await Promise.all([
        withRetry('reading day totals', () => state.readGroupDays(group.urlKey, group.country)),
        withRetry('counting all-time users', () => state.countAllUsers(group.urlKey, group.country)),
      ]);
      return allTimeWrite({ group, days, uniqueUsers, updatedAtMs: nowMs });
    });
    await write(writes);
  }

  signal.throwIfAborted();
  await withRetry('removing processed markers', () => deps.pendingHours.remove(markers));
  return { pendingMarkers: markers.length, openWindows: openWindows.length, allTimeGroups: groups.length, ...counts };
}
