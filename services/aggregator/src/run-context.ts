/**
 * What every step of an aggregation run shares: the dependencies, the run's context (plan, fence,
 * counts, the groups and days in flight), and the writes made through it: fenced Cassandra
 * writes with retries, documents indexed under the fence's versions, windows kept in step with
 * `open_windows`. The steps themselves live beside it (`aggregation-run.ts` orders them).
 */
import type { Semaphore } from 'async-mutex';
import { externalVersionOf } from '@clickstream/cassandra';
import type {
  AggregatorStateRepository,
  EventsRepository,
  EventsTtlHistory,
  PendingHoursRepository,
  PendingWork,
  WriteFence,
} from '@clickstream/cassandra';
import type { MetricsIndexer, MetricsIndexIdentity, MetricWrite } from '@clickstream/elasticsearch';
import { TooManyGroupsError, groupHash, groupWeight, isFinal, windowKey } from '@clickstream/metrics';
import type { GroupRef, GroupSlice, HourGroup, WindowGroup, WindowRef } from '@clickstream/metrics';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import type { RunPlan } from './run-plan.ts';
import { windowWrites } from './window-documents.ts';

/** What a run works with; built once per process and shared by every run. */
export interface AggregationDependencies {
  readonly events: EventsRepository;
  readonly pendingHours: PendingHoursRepository;
  readonly state: AggregatorStateRepository;
  readonly indexer: MetricsIndexer;
  /** The index behind the indexer's alias (installed again when the alias is gone): see `republish.ts`. */
  readonly metricsIndex: {
    readonly alias: string;
    identify(): Promise<MetricsIndexIdentity>;
    /**
     * Hour and day windows whose documents are still not final although they ended before the
     * given time (at most a page): finalised along with the recorded open windows, so that a lost
     * `open_windows` (truncated, restored) does not leave them not final for good.
     */
    readonly windowsLeftNotFinal?: (endedBeforeMs: number) => Promise<WindowRef[]>;
  };
  readonly allowedLatenessMs: number;
  /** Retention of raw events in ms (0: forever): hours that started earlier are not recomputed. */
  readonly eventsRetentionMs: number;
  /**
   * The events table's TTL and its recorded raises, read by each run: a day whose events may have
   * been written with a shorter TTL than `eventsRetentionMs` (before a raise, or a table the
   * schema step has not altered yet) is recomputed only within that one.
   */
  readonly eventsTtl?: () => Promise<EventsTtlHistory>;
  /** Deletes the hour documents of windows that started before the given time (the optional hour-document retention). */
  readonly expireHourDocuments?: { readonly retentionMs: number; readonly deleteBefore: (cutoffMs: number) => Promise<number> };
  /** Events held in memory by the hour reads together (each parallel read its share, a bigger hour alone the whole); a bigger hour still is read in slices of its users. */
  readonly maxEventsInMemory: number;
  /**
   * Distinct (url, country) groups a day's recomputed hours hold at once: a day with more is
   * recomputed in slices of its groups (each slice's hours read again), so memory follows this
   * bound, not the number of pages a day's clicks went to.
   */
  readonly maxGroupsInMemory: number;
  /** Hours recomputed (or read back for a day) in parallel. */
  readonly hourConcurrency: number;
  /** (url, country) groups whose all-time users or document are handled in parallel. */
  readonly groupConcurrency: number;
  /** All-time documents computed and written per batch. */
  readonly bulkSize: number;
  /**
   * Day groups a run holds before it publishes the all-time documents of the days rolled up so far
   * and stores those days (default {@link ALL_TIME_PASS_DAY_GROUPS}): bounds memory in a run over
   * many days (a rebuild), at the cost of an all-time document written once per pass, not per run.
   */
  readonly allTimePassDayGroups?: number;
  /**
   * User ids a pass holds of the groups it found without all-time users: such a group's later
   * days are checked against them instead of looked up in the store (a first run or a rebuild
   * over several days would look each day's users up again). Past it, they are looked up.
   */
  readonly newGroupUsersHeld: number;
  /** For each Cassandra call and the metrics index check; Elasticsearch writes retry inside the indexer. */
  readonly retry: RetryPolicy;
  /**
   * The run's clock, epoch ms, read once per run: what is final, what is past the retentions, and
   * `updated_at` follow it. The service reads Cassandra's (the clock its TTLs count by), never its
   * own node's: a replica whose clock is off would skip and release hours whose events are still
   * stored (ahead), or label windows final too early or too late.
   */
  readonly now: () => number | Promise<number>;
  readonly logger: Logger;
  readonly onRetry?: (target: 'cassandra' | 'elasticsearch') => void;
}

/** Day groups held (about 300 bytes each, new and previous) before an all-time pass. */
export const ALL_TIME_PASS_DAY_GROUPS = 100_000;

export type StepName =
  'plan' | 'republish' | 'readHours' | 'allTimeUsers' | 'storeHours' | 'rollUpDays' | 'finalise' | 'allTime' | 'release';

/** A recomputed hour: its new groups and the stored ones they replace. */
export interface HourChange {
  readonly hourMs: number;
  readonly next: readonly HourGroup[];
  readonly previous: readonly HourGroup[];
}

/**
 * The groups of a day one recomputation holds: every group, or one slice of them when the day
 * has more than `maxGroupsInMemory`. Each part is exact on its own (a group's numbers never
 * depend on another group's), stored and published before the next is read.
 */
export interface DayPart {
  /** The slice of the day's groups (every group without one). */
  readonly slice: GroupSlice | undefined;
  /**
   * Whether it is the day's last part: only then is the day marked rolled up and are its windows
   * that turned final recorded so (until then every part re-indexes them whole).
   */
  readonly last: boolean;
  /** The distinct groups its hours hold so far (by hash), and their {@link groupWeight}: past `maxGroupsInMemory`, {@link TooManyGroupsError}. */
  readonly held: { readonly hashes: Set<number>; weight: number };
}

/** A part of a day to recompute, nothing read of it yet (`slice` undefined: the whole day, its last part). */
export function dayPart(slice: GroupSlice | undefined, last = true): DayPart {
  return { slice, last, held: { hashes: new Set(), weight: 0 } };
}

/** Adds an hour's groups to those its day part holds; throws {@link TooManyGroupsError} once they weigh more than `maxGroups`. */
export function holdGroups(part: DayPart, groups: readonly HourGroup[], maxGroups: number): void {
  for (const group of groups) {
    const hash = groupHash(group);
    if (part.held.hashes.has(hash)) continue;
    part.held.hashes.add(hash);
    part.held.weight += groupWeight(group);
  }
  if (part.held.weight > maxGroups) throw new TooManyGroupsError(maxGroups);
}

/**
 * A rolled-up day whose state is stored at the end of the run (after the all-time documents that
 * read it): its touched groups, new and stored (every group when the day turned final). Only the
 * touched ones can have changed in the day.
 */
export interface DayChange {
  readonly dayMs: number;
  readonly next: readonly WindowGroup[];
  readonly previous: readonly WindowGroup[];
  readonly touched: ReadonlySet<string>;
  /** Whether storing it completes the day's roll-up (false for a slice of the day's groups but the last). */
  readonly completesDay: boolean;
}

/** The state of one run, threaded through its steps. */
export interface RunContext {
  readonly deps: AggregationDependencies;
  readonly signal: AbortSignal;
  readonly fence: WriteFence;
  readonly nowMs: number;
  readonly work: PendingWork;
  readonly plan: RunPlan;
  readonly openWindows: number;
  /** Windows indexed as not final and not finalised yet (kept in step with `open_windows`). */
  readonly open: Set<string>;
  /** One permit per parallel hour read: a read of its share of the event limit takes one, a read of the whole limit all of them. */
  readonly readPermits: Semaphore;
  /** Days rolled up and not stored yet, with their number of groups (new and previous). */
  readonly dayChanges: DayChange[];
  /** Days whose counters (and their hours') this run recorded done already, after the all-time pass that finished them. */
  readonly releasedDays: Set<number>;
  dayGroupsHeld: number;
  /** Groups whose all-time numbers changed, by group key. */
  readonly allTimeChanged: Map<string, GroupRef>;
  /** All-time user counts learnt while adding users, by group key. */
  readonly allTimeUsers: Map<string, number>;
  /**
   * Groups that had no all-time users when this pass first added some: nothing of them is stored
   * in `day_totals` either (a group's day totals are stored only after its users), so their
   * all-time totals are not read.
   */
  readonly newGroups: Set<string>;
  /**
   * The whole stored all-time set of new groups (every user this pass added to them), while the
   * pass holds at most `deps.newGroupUsersHeld` users in all (`newGroupUsersCount`).
   */
  readonly newGroupUsers: Map<string, Set<string>>;
  newGroupUsersCount: number;
  /** (hour, user) left out of an hour so far (`${hourMs} ${userId}`), each logged and counted once. */
  readonly leftOut: Set<string>;
  readonly counts: {
    hours: number;
    days: number;
    finalised: number;
    allTimeGroups: number;
    indexed: number;
    deleted: number;
    excludedUsers: number;
    republished: number;
  };
  readonly stepMs: Record<StepName, number>;
}

/** Runs `step`, adding its wall time to `run.stepMs[name]`. */
export async function timed<T>(run: Pick<RunContext, 'stepMs'>, name: StepName, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    run.stepMs[name] += performance.now() - started;
  }
}

/**
 * Indexes a window's changed documents with its current final flag, keeping `open_windows` in
 * step (an open window recorded before its documents, a window indexed as final no longer open);
 * `reindexAll` (by default: the window turns final now) indexes every one of `groups`.
 * `recordFinal: false` (a slice of the window's groups): a window that turned final stays
 * recorded open, so that the next slices re-index theirs whole too; {@link recordFinal} follows.
 */
export async function publishWindow(
  run: RunContext,
  window: WindowRef,
  groups: readonly WindowGroup[],
  previousGroups: readonly WindowGroup[],
  { reindexAll = turnsFinal(run, window), recordFinal: recordIfFinal = true }: { reindexAll?: boolean; recordFinal?: boolean } = {},
): Promise<void> {
  const { state } = run.deps;
  const final = isFinal(window.granularity, window.windowStartMs, run.nowMs, run.deps.allowedLatenessMs);
  const wasOpen = run.open.has(windowKey(window));
  // Recorded before the documents: a document indexed as not final always has a row to finalise it later.
  if (!final && !wasOpen) {
    await write(run, 'recording an open window', (fence) => state.markOpen([window], fence));
    run.open.add(windowKey(window));
  }
  const writes = windowWrites({ ...window, groups, previousGroups, reindexAll, final, updatedAtMs: run.nowMs });
  await index(run, writes);
  if (final && wasOpen && recordIfFinal) await recordFinal(run, [window]);
}

/** Whether a count that went from `before` to `after` passed a multiple of `step`: when a long step logs its progress. */
export function passedMultiple(before: number, after: number, step: number): boolean {
  return Math.floor(after / step) > Math.floor(before / step);
}

/** Groups of a window read a page at a time between two progress lines (a page is indexed before the next is read). */
const WINDOW_PAGES_PROGRESS_GROUPS = 100_000;

/**
 * A window's stored groups a page at a time, each page read with the run's retries (a retry reads
 * the same page again); `last` marks the final page. Memory holds one page however many groups
 * the window has: a day of 700,000 pages read whole ran the aggregator out of its heap when it
 * turned final, at every restart. A long window says where it is every
 * {@link WINDOW_PAGES_PROGRESS_GROUPS} groups.
 */
export async function* storedWindowPages(run: RunContext, window: WindowRef): AsyncGenerator<{ groups: WindowGroup[]; last: boolean }> {
  const { state } = run.deps;
  const at = `${window.granularity} ${new Date(window.windowStartMs).toISOString()}`;
  const started = performance.now();
  let pageState: string | undefined;
  let groups = 0;
  do {
    const from = pageState;
    const page = await withRetry(run, `reading the state of ${at}`, () =>
      window.granularity === 'hour' ? state.readHourTotals(window.windowStartMs, from) : state.readDayTotals(window.windowStartMs, from),
    );
    pageState = page.next;
    yield { groups: page.groups, last: pageState === undefined };
    const before = groups;
    groups += page.groups.length;
    if (passedMultiple(before, groups, WINDOW_PAGES_PROGRESS_GROUPS))
      run.deps.logger.info(
        { window: at, groups, elapsedMs: Math.round(performance.now() - started) },
        'aggregation progress: a window of many groups, a page at a time',
      );
  } while (pageState !== undefined);
}

/** Windows indexed as final (every document of them) are no longer recorded open. */
export async function recordFinal(run: RunContext, windows: readonly WindowRef[]): Promise<void> {
  if (windows.length === 0) return;
  await write(run, 'recording a final window', (fence) => run.deps.state.markFinal(windows, fence));
  for (const window of windows) run.open.delete(windowKey(window));
}

/** Whether a window indexed as not final is final now: every group of it is then re-indexed. */
export function turnsFinal(run: RunContext, window: WindowRef): boolean {
  return isFinal(window.granularity, window.windowStartMs, run.nowMs, run.deps.allowedLatenessMs) && run.open.has(windowKey(window));
}

/**
 * Writes handed to the indexer at once: a window's documents are built and sent this many at a
 * time. Built all at once, the hour and the day of 100,000 distinct pages held 200,000 documents
 * (and as many copies) beside everything else, and the run died of "heap out of memory" under the
 * 256 MiB heap cap.
 */
export const WRITES_PER_INDEX_CALL = 5_000;

/**
 * Sends documents under the run's fence, {@link WRITES_PER_INDEX_CALL} at a time (each chunk
 * under its own, later, version): Elasticsearch refuses them if a newer holder wrote them already.
 */
export async function index(run: RunContext, writes: Iterable<MetricWrite>): Promise<void> {
  let chunk: MetricWrite[] = [];
  const send = async (): Promise<void> => {
    run.signal.throwIfAborted();
    const version = externalVersionOf(run.fence.nextTimestamp());
    const written = await run.deps.indexer.write(
      chunk.map((w) => ({ ...w, version })),
      run.signal,
    );
    chunk = [];
    run.counts.indexed += written.indexed;
    run.counts.deleted += written.deleted;
  };
  for (const write of writes) {
    chunk.push(write);
    if (chunk.length >= WRITES_PER_INDEX_CALL) await send();
  }
  if (chunk.length > 0) await send();
}

/** A fenced Cassandra write, after checking the lease, with retries. */
export function write<T>(run: RunContext, what: string, operation: (fence: WriteFence) => Promise<T>): Promise<T> {
  run.signal.throwIfAborted();
  return withRetry(run, what, () => operation(run.fence));
}

export function withRetry<T>(
  run: Pick<RunContext, 'deps' | 'signal'>,
  what: string,
  operation: () => Promise<T>,
  target: 'cassandra' | 'elasticsearch' = 'cassandra',
): Promise<T> {
  const { deps, signal } = run;
  return retryWithBackoff(what, operation, deps.retry, {
    signal,
    onRetry: (err, attempt, delayMs) => {
      deps.onRetry?.(target);
      deps.logger.warn({ err, attempt, delayMs }, `${what} failed, retrying`);
    },
  });
}
