import { Semaphore } from 'async-mutex';
import { NO_DAYS, TooManyEventsError, createWriteFence, externalVersionOf } from '@clickstream/cassandra';
import type {
  AggregatorStateRepository,
  EventsRepository,
  EventsTtlHistory,
  PendingHoursRepository,
  PendingWork,
  WriteFence,
} from '@clickstream/cassandra';
import type { MetricsIndexer, MetricsIndexIdentity, MetricWrite } from '@clickstream/elasticsearch';
import {
  HOUR_MS,
  SESSION_GAP_MS,
  TooManyGroupsError,
  aggregateHour,
  compareCodePoints,
  dayStartMs,
  groupKey,
  isFinal,
  createHourSliceMerger,
  eventWeight,
  fnv1a32,
  groupHash,
  groupWeight,
  rollUpDay,
  sameNumbers,
  sameTotals,
  sameUserIds,
  windowGroupOf,
  windowKey,
} from '@clickstream/metrics';
import type { GroupAllTime, GroupDay } from '@clickstream/cassandra';
import type {
  GroupRef,
  GroupSlice,
  GroupTotals,
  HourAggregation,
  HourGroup,
  MergeableTotals,
  MetricEvent,
  WindowGroup,
  WindowRef,
} from '@clickstream/metrics';
import type { Logger } from '@clickstream/observability';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import { mapConcurrently, settleAll } from './map-concurrently.ts';
import { eventsRetentionMsOf, planRun } from './run-plan.ts';
import type { DayPlan, RunPlan } from './run-plan.ts';
import type { LeaseGrant } from './run-lease.ts';
import { allTimeWrite, windowWrites } from './window-documents.ts';

/** What a run works with; built once per process and shared by every run. */
export interface AggregationDependencies {
  readonly events: EventsRepository;
  readonly pendingHours: PendingHoursRepository;
  readonly state: AggregatorStateRepository;
  readonly indexer: MetricsIndexer;
  /** The index behind the indexer's alias (installed again when the alias is gone): see {@link republishIfIndexReplaced}. */
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

/** What a run did: the windows it (re)computed and the documents it wrote. */
export interface RunSummary {
  /** Hours whose change counters were ahead at the start. */
  readonly pendingHours: number;
  readonly openWindows: number;
  readonly hours: number;
  readonly days: number;
  readonly finalised: number;
  readonly allTimeGroups: number;
  readonly indexed: number;
  readonly deleted: number;
  /** Users left out of an hour because they alone had more events in it than the memory limit (once per hour). */
  readonly excludedUsers: number;
  /** Documents indexed again from the stored state into an index found new or replaced (part of `indexed`). */
  readonly republished: number;
  /** Wall time of each kind of step, ms (where a run's time goes; logged with its summary). Steps that run at the same time overlap. */
  readonly stepMs: Readonly<Record<StepName, number>>;
}

type StepName = 'plan' | 'republish' | 'readHours' | 'allTimeUsers' | 'storeHours' | 'rollUpDays' | 'finalise' | 'allTime' | 'release';

/** A recomputed hour: its new groups and the stored ones they replace. */
interface HourChange {
  readonly hourMs: number;
  readonly next: readonly HourGroup[];
  readonly previous: readonly HourGroup[];
}

/** A day's recomputed hours (their new groups), and the groups its roll-up must recompute. */
interface DayRecompute {
  readonly hours: readonly { readonly hourMs: number; readonly next: readonly HourGroup[] }[];
  readonly touched: ReadonlySet<string>;
  /** The part of the day's groups recomputed (the whole day by default). */
  readonly part?: DayPart;
}

/**
 * The groups of a day one recomputation holds: every group, or one slice of them when the day
 * has more than `maxGroupsInMemory`. Each part is exact on its own (a group's numbers never
 * depend on another group's), stored and published before the next is read.
 */
interface DayPart {
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
function dayPart(slice: GroupSlice | undefined, last = true): DayPart {
  return { slice, last, held: { hashes: new Set(), weight: 0 } };
}

/** Adds an hour's groups to those its day part holds; throws {@link TooManyGroupsError} once they weigh more than `maxGroups`. */
function holdGroups(part: DayPart, groups: readonly HourGroup[], maxGroups: number): void {
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
interface DayChange {
  readonly dayMs: number;
  readonly next: readonly WindowGroup[];
  readonly previous: readonly WindowGroup[];
  readonly touched: ReadonlySet<string>;
  /** Whether storing it completes the day's roll-up (false for a slice of the day's groups but the last). */
  readonly completesDay: boolean;
}

/** The state of one run, threaded through its steps. */
interface RunContext {
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
async function timed<T>(run: Pick<RunContext, 'stepMs'>, name: StepName, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    run.stepMs[name] += performance.now() - started;
  }
}

/**
 * One aggregation pass over everything pending:
 * 1. plan: read the pending hours (change counters ahead of what was done) and the open windows;
 *    if the metrics index is not the one the state was published into, index every stored window again;
 * 2. per day with pending hours, recompute those hours from their events plus the 30-minute
 *    look-ahead; add their new users to the all-time user sets and index the hour documents whose
 *    numbers changed; store the hours' state;
 * 3. at the same time as step 2's writes, roll the day up (its other hours from their stored
 *    state) and index the day documents whose numbers changed;
 * 4. finalise: re-index as final the open windows that became final meanwhile;
 * 5. all-time: for every (url, country) whose day numbers changed, index its all-time document
 *    (day totals summed, exact users from the stored all-time count), then store the days' state;
 * 6. release: record the change counters read in step 1 as done (increments made meanwhile stay pending),
 *    after deleting the hour documents past their retention when one is set. A run over many days
 *    also releases the days of each earlier all-time pass once the pass is done.
 *
 * A failure at any point leaves the counters not yet released pending, so the next run redoes that work; every
 * step is idempotent (documents have deterministic ids, state is replaced, not added to).
 * Documents go to Elasticsearch before the state they come from is stored, so a crash in between
 * is seen again as a difference by the next run. Every write carries the grant's fencing token
 * (Cassandra write timestamps, Elasticsearch external versions): a replica that lost its lease
 * cannot overwrite what a newer holder wrote. Memory is bounded by the largest window read: the
 * events of `hourConcurrency` hours, or one day's distinct (url, country, user) triples, of at
 * most `maxGroupsInMemory` groups (a day of more goes in slices of its groups).
 *
 * @param grant the lease's signal (aborts the run before its next write) and fencing token.
 */
export async function runAggregation(deps: AggregationDependencies, grant: LeaseGrant): Promise<RunSummary> {
  const started = performance.now();
  const run = await planAggregation(deps, grant);
  run.stepMs.plan = performance.now() - started;
  await timed(run, 'republish', () => republishIfIndexReplaced(run));
  const { days } = run.plan;
  for (const [index, day] of days.entries()) {
    await recomputeDay(run, day);
    if (run.dayGroupsHeld >= (deps.allTimePassDayGroups ?? ALL_TIME_PASS_DAY_GROUPS)) {
      // The pass finishes its days: they are released now, so a run over months that dies later keeps them done.
      const passDays = new Set(run.dayChanges.map((change) => change.dayMs));
      await timed(run, 'allTime', () => publishAllTime(run));
      await timed(run, 'release', () => releasePending(run, passDays));
    }
    // A run over several days (a first run, a backfill, a rebuild) can take minutes: say where it is.
    if (days.length > 1)
      deps.logger.info(
        {
          day: new Date(day.dayMs).toISOString().slice(0, 10),
          done: index + 1,
          of: days.length,
          hours: run.counts.hours,
          indexed: run.counts.indexed,
          elapsedMs: Math.round(performance.now() - started),
        },
        'aggregation progress: day done',
      );
  }
  await timed(run, 'finalise', () => finaliseWindows(run));
  await timed(run, 'allTime', () => publishAllTime(run));
  await timed(run, 'release', async () => {
    await expireHourDocuments(run);
    await releasePending(run);
  });
  const stepMs = Object.fromEntries(Object.entries(run.stepMs).map(([name, ms]) => [name, Math.round(ms)])) as Record<StepName, number>;
  return { pendingHours: run.work.hours.length, openWindows: run.openWindows, ...run.counts, stepMs };
}

/** Step 1: what is pending and which windows are open; the run's clock and fence. */
export async function planAggregation(deps: AggregationDependencies, grant: LeaseGrant): Promise<RunContext> {
  grant.signal.throwIfAborted();
  const partial = { deps, signal: grant.signal };
  const nowMs = await withRetry(partial, 'reading the time', async () => deps.now());
  const work = await withRetry(partial, 'listing pending hours', () => deps.pendingHours.pending());
  const recorded = await withRetry(partial, 'listing open windows', () => deps.state.listOpenWindows());
  const readTtl = deps.eventsTtl;
  const ttl = readTtl === undefined ? undefined : await withRetry(partial, 'reading the events TTL', () => readTtl());
  const leftNotFinal = deps.metricsIndex.windowsLeftNotFinal;
  const unrecorded =
    leftNotFinal === undefined
      ? []
      : (
          await withRetry(
            partial,
            'finding documents left not final',
            () => leftNotFinal(nowMs - SESSION_GAP_MS - deps.allowedLatenessMs),
            'elasticsearch',
          )
        ).filter((w) => isFinal(w.granularity, w.windowStartMs, nowMs, deps.allowedLatenessMs));
  const recordedKeys = new Set(recorded.map(windowKey));
  const openWindows = [...recorded, ...unrecorded.filter((w) => !recordedKeys.has(windowKey(w)))];
  return {
    ...partial,
    fence: createWriteFence(grant.token),
    nowMs,
    work,
    plan: planRun({
      pendingHoursMs: work.hours.map((hour) => hour.startMs),
      openWindows,
      nowMs,
      allowedLatenessMs: deps.allowedLatenessMs,
      retentionMsOf: (hourMs) => eventsRetentionMsOf(deps.eventsRetentionMs, ttl, hourMs),
    }),
    openWindows: openWindows.length,
    open: new Set(openWindows.map(windowKey)),
    readPermits: new Semaphore(deps.hourConcurrency),
    dayChanges: [],
    releasedDays: new Set(),
    dayGroupsHeld: 0,
    allTimeChanged: new Map(),
    allTimeUsers: new Map(),
    newGroups: new Set(),
    newGroupUsers: new Map(),
    newGroupUsersCount: 0,
    leftOut: new Set(),
    counts: { hours: 0, days: 0, finalised: 0, allTimeGroups: 0, indexed: 0, deleted: 0, excludedUsers: 0, republished: 0 },
    stepMs: { plan: 0, republish: 0, readHours: 0, allTimeUsers: 0, storeHours: 0, rollUpDays: 0, finalise: 0, allTime: 0, release: 0 },
  };
}

/** Slices of its groups a day is first recomputed in when it has more than `maxGroupsInMemory`; a slice still too big is split in 4, down to 1/{@link MAX_GROUP_SLICES} of the groups. */
const FIRST_GROUP_SLICES = 4;
const MAX_GROUP_SLICES = 4_096;

/**
 * Steps 2 and 3 for one day, whole; a day whose recomputed hours hold more than
 * `maxGroupsInMemory` distinct groups (found while reading, before anything is written) is
 * recomputed in slices of its groups instead ({@link recomputeDayInSlices}).
 */
export async function recomputeDay(run: RunContext, day: DayPlan): Promise<void> {
  try {
    await recomputeDayPart(run, day, dayPart(undefined));
  } catch (err) {
    if (!(err instanceof TooManyGroupsError)) throw err;
    await recomputeDayInSlices(run, day);
  }
}

/**
 * A day recomputed one slice of its groups at a time: each slice's hours, day and all-time
 * documents and state are stored before the next slice is read (the hours' events are read once
 * per slice), so memory holds one slice. A slice found still too big while it is read (nothing of
 * it written yet) is split in 4. The day is marked rolled up, and its windows that turned final
 * recorded so, after the last slice: a run that dies between slices leaves the rest pending and
 * marked, as for a whole day.
 */
async function recomputeDayInSlices(run: RunContext, day: DayPlan): Promise<void> {
  const { deps } = run;
  const dayAt = new Date(day.dayMs).toISOString().slice(0, 10);
  const started = performance.now();
  deps.logger.info(
    { day: dayAt, slices: FIRST_GROUP_SLICES, maxGroups: deps.maxGroupsInMemory },
    'day recomputed in slices of its (url, country) groups: more than AGGREGATOR_MAX_GROUPS_IN_MEMORY',
  );
  const left: GroupSlice[] = Array.from({ length: FIRST_GROUP_SLICES }, (_, index) => ({ index, slices: FIRST_GROUP_SLICES }));
  for (let slice = left.shift(); slice !== undefined; slice = left.shift()) {
    try {
      await recomputeDayPart(run, day, dayPart(slice, left.length === 0));
    } catch (err) {
      if (!(err instanceof TooManyGroupsError) || slice.slices >= MAX_GROUP_SLICES) throw err;
      // The groups with hash % slices = index are those with hash % (4 * slices) = index + k * slices, k = 0..3.
      const { index, slices } = slice;
      left.unshift(...[0, 1, 2, 3].map((k) => ({ index: index + k * slices, slices: 4 * slices })));
      continue;
    }
    await timed(run, 'allTime', () => publishAllTime(run));
    deps.logger.info(
      { day: dayAt, slice: `${slice.index}/${slice.slices}`, left: left.length, elapsedMs: Math.round(performance.now() - started) },
      'aggregation progress: a slice of a day done',
    );
  }
  const windows: WindowRef[] = [
    ...day.hoursMs.map((hourMs) => ({ granularity: 'hour' as const, windowStartMs: hourMs })),
    { granularity: 'day', windowStartMs: day.dayMs },
  ];
  await recordFinal(
    run,
    windows.filter((window) => turnsFinal(run, window)),
  );
}

/**
 * Steps 2 and 3 for a day's part (its groups, or a slice of them): recomputes its pending hours,
 * then stores them and rolls the day up at the same time. The roll-up reads only the state of the
 * day's other hours and of the day, which storing the recomputed hours does not write, so neither
 * waits for the other (the incremental run's two longest steps after the reads). Both finish
 * before the run goes on or fails: nothing of a failed run keeps writing.
 */
async function recomputeDayPart(run: RunContext, day: DayPlan, part: DayPart): Promise<void> {
  const dayAt = new Date(day.dayMs).toISOString();
  const [changes, marked] = await timed(run, 'readHours', () =>
    Promise.all([
      readHours(run, day, part),
      withRetry(run, `reading the roll-up marks of day ${dayAt}`, () => run.deps.state.readDayMarks(day.dayMs, part.slice)),
    ]),
  );
  const changed = changedGroups(changes);
  // A day never marked stored: nothing says which groups its stored hours and its state agree on.
  const touched =
    marked === undefined
      ? new Set(changes.flatMap(({ next, previous }) => [...next, ...previous].map(groupKey)))
      : new Set([...changed.keys(), ...marked]);
  await settleAll([
    storeDayHours(run, day, changes, marked === undefined ? undefined : changed, part),
    timed(run, 'rollUpDays', () => rollUpDayOf(run, day, { hours: changes, touched, part })),
  ]);
}

/**
 * Step 2, reading: the day's pending hours recomputed from their events, beside their stored state.
 * The hours go in chains of consecutive hours (up to `hourConcurrency` at a time), each read from
 * its latest hour down: an hour's 30-minute look-ahead is then the first half of the hour read
 * just before it, kept from that read instead of read again (a day of pending hours reads 25
 * hours of events instead of 36).
 */
async function readHours(run: RunContext, day: DayPlan, part: DayPart): Promise<HourChange[]> {
  const chains = hourChains(day.hoursMs, run.deps.hourConcurrency);
  const changes = await mapConcurrently(chains, run.deps.hourConcurrency, (chain) => readChain(run, chain, part));
  return changes.flat().sort((a, b) => a.hourMs - b.hourMs);
}

/**
 * Hours (ascending, distinct) as chains of consecutive hours, latest first in each: the runs of
 * consecutive hours, the longest split in halves while there are fewer chains than `readers`
 * (so that the readers share the work).
 */
export function hourChains(hoursMs: readonly number[], readers: number): number[][] {
  const chains: number[][] = [];
  for (const hourMs of hoursMs) {
    const chain = chains.at(-1);
    if (chain !== undefined && hourMs === (chain.at(-1) ?? Number.NaN) + HOUR_MS) chain.push(hourMs);
    else chains.push([hourMs]);
  }
  while (chains.length < readers) {
    const longest = chains.reduce<number[]>((most, chain) => (chain.length > most.length ? chain : most), []);
    if (longest.length < 2) break;
    const half = Math.ceil(longest.length / 2);
    chains.splice(chains.indexOf(longest), 1, longest.slice(0, half), longest.slice(half));
  }
  return chains.map((chain) => chain.reverse());
}

/**
 * One chain of hours, latest first, holding one read permit throughout (a read of its share of
 * the event limit, the kept look-ahead included). An hour bigger than its share gives the permit
 * back and its look-ahead up, and is aggregated alone with the whole limit
 * ({@link aggregateBigHour}): a bigger hour costs more reads, never more memory.
 */
async function readChain(run: RunContext, chain: readonly number[], part: DayPart): Promise<HourChange[]> {
  const { deps, readPermits } = run;
  const aggregation = { slice: part.slice, maxGroups: deps.maxGroupsInMemory };
  const share = Math.max(1, Math.floor(deps.maxEventsInMemory / deps.hourConcurrency));
  const changes: HourChange[] = [];
  let lookAhead: MetricEvent[] | undefined;
  let [, release] = await readPermits.acquire();
  try {
    for (const hourMs of chain) {
      let next: HourGroup[];
      try {
        ({ groups: next, early: lookAhead } = await aggregateHourWhole(run, hourMs, { maxEvents: share, ...aggregation }, lookAhead));
      } catch (err) {
        if (!(err instanceof TooManyEventsError)) throw err;
        // Its share was the whole limit, with nothing else held: a whole read with the whole limit just failed.
        const wholeTried = share >= deps.maxEventsInMemory && lookAhead === undefined;
        lookAhead = undefined;
        release();
        next = await readPermits.runExclusive(() => aggregateBigHour(run, hourMs, wholeTried, aggregation), deps.hourConcurrency);
        [, release] = await readPermits.acquire();
      }
      holdGroups(part, next, deps.maxGroupsInMemory);
      const at = new Date(hourMs).toISOString();
      const previous = await withRetry(run, `reading the state of ${at}`, () => deps.state.readHour(hourMs, part.slice));
      changes.push({ hourMs, next, previous });
    }
  } finally {
    release();
  }
  return changes;
}

/**
 * An hour read whole, holding at most `maxEvents` events: given `lookAhead` (the events of the
 * next hour's first 30 minutes, from that hour's own read), only its own hour is read, else its
 * look-ahead with it. Also gives its own first 30 minutes' events: the look-ahead of the hour
 * before. Throws {@link TooManyEventsError} past `maxEvents`.
 */
async function aggregateHourWhole(
  run: RunContext,
  hourMs: number,
  { maxEvents, ...aggregation }: HourAggregation & { readonly maxEvents: number },
  lookAhead: readonly MetricEvent[] | undefined,
): Promise<{ groups: HourGroup[]; early: MetricEvent[] }> {
  const endMs = hourMs + HOUR_MS + (lookAhead === undefined ? SESSION_GAP_MS : 0);
  const read = { maxEvents: Math.max(0, maxEvents - (lookAhead ?? []).reduce((sum, event) => sum + eventWeight(event), 0)) };
  const events = await withRetry(run, `reading the events of ${new Date(hourMs).toISOString()}`, () =>
    run.deps.events.readEvents(hourMs, endMs, read),
  );
  const groups = aggregateHour(lookAhead === undefined ? events : events.concat(lookAhead), hourMs, aggregation);
  return { groups, early: events.filter((event) => event.eventTimeMs < hourMs + SESSION_GAP_MS) };
}

/**
 * Step 2, storing: the hours' new users go into the all-time sets while their changed documents
 * are indexed; then the changed groups are marked for the day's roll-up (`changed`, unless the day
 * was never marked) and the hours' state is stored. Both orders matter for a run that dies on the
 * way: a user an hour's stored state holds is always in the all-time set already, and a group
 * whose stored hour changed is marked until its day is stored.
 */
async function storeDayHours(
  run: RunContext,
  day: DayPlan,
  changes: readonly HourChange[],
  changed: ReadonlyMap<string, GroupRef> | undefined,
  part: DayPart,
): Promise<void> {
  const { deps } = run;
  await settleAll([
    timed(run, 'allTimeUsers', () => addAllTimeUsers(run, changes)),
    timed(run, 'storeHours', () => publishHours(run, changes, part)),
  ]);
  if (changed !== undefined && changed.size > 0)
    await write(run, `marking the changed groups of day ${new Date(day.dayMs).toISOString()}`, (fence) =>
      deps.state.markDayGroups(day.dayMs, changed.values(), fence),
    );
  await timed(run, 'storeHours', () =>
    mapConcurrently(changes, deps.hourConcurrency, async (change) => {
      const at = new Date(change.hourMs).toISOString();
      await write(run, `storing the state of ${at}`, (fence) => deps.state.replaceHour(change.hourMs, change.next, change.previous, fence));
      if (part.last) run.counts.hours += 1;
    }),
  );
}

/** The groups whose numbers or users differ between the recomputed hours and their stored state (or are in only one of them), by key. */
export function changedGroups(changes: readonly HourChange[]): Map<string, GroupRef> {
  const changed = new Map<string, GroupRef>();
  for (const { next, previous } of changes) {
    const before = new Map(previous.map((group) => [groupKey(group), group]));
    for (const group of next) {
      const key = groupKey(group);
      const old = before.get(key);
      before.delete(key);
      if (old === undefined || !sameTotals(old, group) || !sameUserIds(old.userIds, group.userIds))
        changed.set(key, { urlKey: group.urlKey, country: group.country });
    }
    for (const [key, gone] of before) changed.set(key, { urlKey: gone.urlKey, country: gone.country });
  }
  return changed;
}

/** The recomputed hours' documents that changed, `hourConcurrency` hours at a time (disjoint documents). */
async function publishHours(run: RunContext, changes: readonly HourChange[], part: DayPart): Promise<void> {
  await mapConcurrently(changes, run.deps.hourConcurrency, (change) =>
    publishWindow(
      run,
      { granularity: 'hour', windowStartMs: change.hourMs },
      change.next.map(windowGroupOf),
      change.previous.map(windowGroupOf),
      { recordFinal: part.slice === undefined },
    ),
  );
}

/** Slices a big hour is counted in: every slice count tried (1, 4, ... 4,096) divides it. */
const COUNTED_SLICES = 4_096;

/**
 * An hour read whole if it fits the limit (unless `wholeTried`: such a read just failed); otherwise its events are first counted by slice of
 * their users (nothing held), and it is read in the fewest slices (4, 16, ... 4,096) that each
 * fit. A user who alone has more events in the hour (plus its look-ahead) than the limit cannot
 * be aggregated within it and would stop every run for good: that user is left out of the hour,
 * recorded in the quarantine index, with an error line and `excludedUsers` counted, and
 * everything else stays exact.
 */
async function aggregateBigHour(run: RunContext, hourMs: number, wholeTried: boolean, aggregation: HourAggregation): Promise<HourGroup[]> {
  const { deps } = run;
  const maxEvents = deps.maxEventsInMemory;
  try {
    if (!wholeTried) return await aggregateHourInSlices(run, hourMs, { maxEvents, slices: 1, maxSlices: 1, aggregation });
  } catch (err) {
    if (!(err instanceof TooManyEventsError)) throw err;
  }
  const counts = await tallyHourEvents(run, hourMs, 'counting the events', (userId) => userSlice(userId, COUNTED_SLICES));
  const excluded = new Map<string, number>();
  const crowded = new Set([...counts].flatMap(([slice, count]) => (count > maxEvents ? [slice] : [])));
  if (crowded.size > 0) {
    // Only a crowded slice can hold such a user: count its users one by one (a few users per slice).
    const perUser = await tallyHourEvents(run, hourMs, 'counting the users', (userId) =>
      crowded.has(userSlice(userId, COUNTED_SLICES)) ? userId : undefined,
    );
    let newlyLeftOut = 0;
    for (const [userId, events] of perUser) {
      if (events <= maxEvents) continue;
      excluded.set(userId, events);
      const slice = userSlice(userId, COUNTED_SLICES);
      counts.set(slice, (counts.get(slice) ?? 0) - events);
      // A day recomputed in slices of its groups reads the hour once per slice: said and counted once.
      const leftOut = `${hourMs} ${userId}`;
      if (run.leftOut.has(leftOut)) continue;
      run.leftOut.add(leftOut);
      newlyLeftOut += 1;
      deps.logger.error(
        { hour: new Date(hourMs).toISOString(), userId: userId.slice(0, 256), events, limit: maxEvents },
        'user left out of an hour: more events than AGGREGATOR_MAX_EVENTS_IN_MEMORY',
      );
    }
    // Recorded durably before any number that leaves them out is written.
    run.signal.throwIfAborted();
    await deps.indexer.recordLeftOut(
      [...excluded].map(([userId, events]) => ({ hourMs, userId, events, limit: maxEvents })),
      run.signal,
    );
    run.counts.excludedUsers += newlyLeftOut;
  }
  let slices = 1;
  while (slices < COUNTED_SLICES && largestSlice(counts, slices) > maxEvents) slices *= 4;
  return aggregateHourInSlices(run, hourMs, {
    maxEvents,
    slices,
    maxSlices: COUNTED_SLICES,
    aggregation,
    ...(excluded.size > 0 ? { keepUser: (userId: string) => !excluded.has(userId) } : {}),
  });
}

/** Events of the hour (plus its look-ahead) per key, by {@link eventWeight}, for the users `keyOf` gives one (no event is held); counted afresh on a retry. */
async function tallyHourEvents<K>(
  run: RunContext,
  hourMs: number,
  what: string,
  keyOf: (userId: string) => K | undefined,
): Promise<Map<K, number>> {
  return withRetry(run, `${what} of ${new Date(hourMs).toISOString()}`, async () => {
    const tally = new Map<K, number>();
    await run.deps.events.readEvents(hourMs, hourMs + HOUR_MS + SESSION_GAP_MS, {
      keepUser: (userId, weight) => {
        const key = keyOf(userId);
        if (key !== undefined) tally.set(key, (tally.get(key) ?? 0) + weight);
        return false;
      },
    });
    return tally;
  });
}

/** The most events in one of `slices` slices, from counts per slice of {@link COUNTED_SLICES} (`slices` divides it). */
function largestSlice(counts: ReadonlyMap<number, number>, slices: number): number {
  const merged = new Array<number>(slices).fill(0);
  for (const [slice, count] of counts) merged[slice % slices] = (merged[slice % slices] ?? 0) + count;
  return Math.max(...merged);
}

/**
 * The hour read whole (`slices` 1) or in `slices` slices of its users, each read holding at most
 * `maxEvents` events (each slice with all of its users' events, so time spent stays exact), and
 * the slices' groups merged; a slice still too big (events arrived since they were counted) makes
 * it try 4 times as many slices, up to `maxSlices`. `keepUser` leaves users out.
 */
async function aggregateHourInSlices(
  run: RunContext,
  hourMs: number,
  options: { maxEvents: number; slices: number; maxSlices: number; aggregation: HourAggregation; keepUser?: (userId: string) => boolean },
): Promise<HourGroup[]> {
  const { deps } = run;
  const { maxEvents, maxSlices, aggregation, keepUser = () => true } = options;
  const { maxGroups = Number.POSITIVE_INFINITY } = aggregation;
  const at = new Date(hourMs).toISOString();
  for (let slices = options.slices; ; slices *= 4) {
    try {
      const merger = createHourSliceMerger();
      let whole: HourGroup[] | undefined;
      for (let index = 0; index < slices; index += 1) {
        const read = {
          maxEvents,
          ...(slices > 1 || options.keepUser !== undefined
            ? { keepUser: (userId: string) => keepUser(userId) && (slices === 1 || userSlice(userId, slices) === index) }
            : {}),
        };
        const events = await withRetry(run, `reading the events of ${at}`, () =>
          deps.events.readEvents(hourMs, hourMs + HOUR_MS + SESSION_GAP_MS, read),
        );
        if (slices === 1) whole = aggregateHour(events, hourMs, aggregation);
        else merger.add(aggregateHour(events, hourMs, aggregation));
        if (merger.weight > maxGroups) throw new TooManyGroupsError(maxGroups);
      }
      if (whole !== undefined) return whole;
      deps.logger.info({ hour: at, slices }, 'hour aggregated in slices of its users to bound memory');
      return merger.result();
    } catch (err) {
      if (!(err instanceof TooManyEventsError) || slices >= maxSlices) throw err;
    }
  }
}

/** The slice (0..slices-1) of a user: FNV-1a of the user id. */
export function userSlice(userId: string, slices: number): number {
  return fnv1a32(userId) % slices;
}

/**
 * The users new to the recomputed hours go into their groups' all-time sets (the stored count
 * follows). Each group's candidates (users in a new hour set and not in the hour's previous set)
 * are gathered when its turn comes, so memory holds `groupConcurrency` groups' candidates, not a
 * copy of the day's users.
 */
async function addAllTimeUsers(run: RunContext, changes: readonly HourChange[]): Promise<void> {
  const hoursOf = new Map<string, { group: GroupRef; hours: GroupHour[] }>();
  for (const { next, previous } of changes) {
    const before = new Map(previous.map((group) => [groupKey(group), group]));
    for (const group of next) {
      const key = groupKey(group);
      let entry = hoursOf.get(key);
      if (entry === undefined) {
        entry = { group: { urlKey: group.urlKey, country: group.country }, hours: [] };
        hoursOf.set(key, entry);
      }
      entry.hours.push({ next: group, previous: before.get(key) });
    }
  }
  // The counts this pass has not learnt yet, read together (a request per url, not per group).
  const uncounted = [...hoursOf].flatMap(([key, { group, hours }]) =>
    !run.allTimeUsers.has(key) && hours.some(bringsUsers) ? [group] : [],
  );
  const counted = await withRetry(run, 'counting all-time users', () => run.deps.state.countAllTimeUsersOf(uncounted));
  for (const [key, count] of counted) {
    run.allTimeUsers.set(key, count);
    if (count === 0) {
      run.newGroups.add(key);
      run.newGroupUsers.set(key, new Set());
    }
  }
  await mapConcurrently([...hoursOf], run.deps.groupConcurrency, async ([key, { group, hours }]) => {
    const userIds = new Set<string>();
    for (const hour of hours) for (const userId of newUserIds(hour)) userIds.add(userId);
    if (userIds.size === 0) return;
    const known = { count: run.allTimeUsers.get(key) ?? 0, users: run.newGroupUsers.get(key) };
    // A retry reads the count again and looks the users up: a failed attempt may have stored some of them and their count.
    let attempt = 0;
    const users = await write(run, 'adding all-time users', (fence) =>
      run.deps.state.addAllTimeUsers(group, userIds, fence, attempt++ === 0 ? known : undefined),
    );
    run.allTimeUsers.set(key, users);
    // A new user can leave the day numbers as they were (a replayed click under another user):
    // the all-time document changes all the same.
    if (users !== known.count) run.allTimeChanged.set(key, group);
    if (known.users !== undefined) holdNewGroupUsers(run, key, known.users, userIds, users);
  });
}

/** One hour of a group: as recomputed, and as stored (if it was). */
interface GroupHour {
  readonly next: HourGroup;
  readonly previous: HourGroup | undefined;
}

/** The users a recomputed hour group holds and its stored state did not. */
function* newUserIds({ next, previous }: GroupHour): Generator<string> {
  for (const userId of next.userIds) if (previous?.userIds.has(userId) !== true) yield userId;
}

/** Whether an hour group brings users its stored state did not have. */
const bringsUsers = (hour: GroupHour): boolean => !newUserIds(hour).next().done;

/** Adds a new group's users just stored to those the pass holds of it; lets the group go past the limit, or when its count says another writer added some. */
function holdNewGroupUsers(run: RunContext, key: string, held: Set<string>, added: ReadonlySet<string>, count: number): void {
  const before = held.size;
  for (const userId of added) held.add(userId);
  run.newGroupUsersCount += held.size - before;
  if (held.size !== count || run.newGroupUsersCount > run.deps.newGroupUsersHeld) {
    run.newGroupUsers.delete(key);
    run.newGroupUsersCount -= held.size;
  }
}

/**
 * Step 3: rolls the day up from its hours (the recomputed ones from memory) and indexes what changed.
 * Only the touched groups can change in the day (those whose hours this run changed, and those a
 * run that died before storing the day marked): the day's other groups keep their stored numbers,
 * and the day's state and its stored hours are read for the touched groups only. A run's cost
 * follows the groups it changed, not the size of the day.
 */
export async function rollUpDayOf(run: RunContext, day: DayPlan, recomputed: DayRecompute): Promise<void> {
  const { deps } = run;
  const { touched, part = dayPart(undefined) } = recomputed;
  const window = { granularity: 'day', windowStartMs: day.dayMs } as const;
  // The day's stored state is read (and replaced) for the touched groups only, unless the day turns
  // final in this run: then every group of it is re-indexed as final.
  const whole = turnsFinal(run, window);
  const fresh = new Map(recomputed.hours.map((change) => [change.hourMs, change.next]));
  const stored = Array.from({ length: 24 }, (_, hour) => day.dayMs + hour * HOUR_MS).filter((hourMs) => !fresh.has(hourMs));
  const [storedHours, previous] = await Promise.all([
    mapConcurrently(stored, Math.max(deps.hourConcurrency, 4), (hourMs) =>
      withRetry(run, `reading the state of ${new Date(hourMs).toISOString()}`, () => deps.state.readHour(hourMs, touched)),
    ),
    withRetry(run, `reading the state of day ${new Date(day.dayMs).toISOString()}`, () =>
      deps.state.readDay(day.dayMs, whole ? part.slice : touched),
    ),
  ]);
  const freshTouched = [...fresh.values()].map((groups) => groups.filter((group) => touched.has(groupKey(group))));
  const untouched = whole ? previous.filter((group) => !touched.has(groupKey(group))) : [];
  const next = [...rollUpDay([...freshTouched, ...storedHours]), ...untouched].sort(
    (a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country),
  );
  // The same decision as the read's: a day read for its touched groups only is never re-indexed whole.
  await publishWindow(run, window, next, previous, { reindexAll: whole, recordFinal: part.slice === undefined });
  const before = new Map(previous.map((group) => [groupKey(group), group]));
  for (const group of next) {
    const old = before.get(groupKey(group));
    before.delete(groupKey(group));
    if (old === undefined || !sameNumbers(old, group)) run.allTimeChanged.set(groupKey(group), group);
  }
  for (const [key, gone] of before) run.allTimeChanged.set(key, gone);
  run.dayChanges.push({ dayMs: day.dayMs, next, previous, touched, completesDay: part.last });
  run.dayGroupsHeld += next.length + previous.length;
  if (part.last) run.counts.days += 1;
}

/**
 * Step 1, the index: documents are written only when their numbers change, so an index that lost
 * them (deleted and installed again, restored from an older snapshot, a new cluster) would stay
 * without them for good. The index's UUID is recorded with the state; a run that finds another
 * one first indexes every stored window into it again, then records it (a run that dies on the
 * way does it all again). When none is recorded yet (a keyspace from before the record), an index
 * holding documents is taken as complete, and an empty one is filled.
 */
async function republishIfIndexReplaced(run: RunContext): Promise<void> {
  const { deps } = run;
  const { alias } = deps.metricsIndex;
  run.signal.throwIfAborted();
  const [identity, recorded] = await Promise.all([
    withRetry(run, 'identifying the metrics index', () => deps.metricsIndex.identify(), 'elasticsearch'),
    withRetry(run, 'reading the published index', () => deps.state.readPublishedIndex(alias)),
  ]);
  if (recorded === identity.uuid) return;
  if (recorded !== undefined || identity.documents === 0) await republishAll(run, identity);
  await write(run, 'recording the published index', (fence) => deps.state.recordPublishedIndex(alias, identity.uuid, fence));
}

/** Windows indexed again between two progress lines while an index is filled from the state (a year holds ~8,800 hours). */
const REPUBLISH_PROGRESS_WINDOWS = 500;
/** All-time groups indexed again between two progress lines (one request each: a million take minutes). */
const REPUBLISH_PROGRESS_GROUPS = 100_000;

/** Every stored window indexed again: hours (within the hour documents' retention), days, then all-time groups a page at a time. */
async function republishAll(run: RunContext, identity: MetricsIndexIdentity): Promise<void> {
  const { deps } = run;
  const indexedBefore = run.counts.indexed;
  const retentionMs = deps.expireHourDocuments?.retentionMs ?? 0;
  const hours = await withRetry(run, 'listing the stored hours', () => deps.state.listStoredHours());
  const keptHours = retentionMs > 0 ? hours.filter((hourMs) => hourMs >= run.nowMs - retentionMs) : hours;
  const days = await withRetry(run, 'listing the stored days', () => deps.state.listStoredDays());
  const progress = (what: string): void =>
    deps.logger.info({ index: identity.uuid, indexed: run.counts.indexed - indexedBefore }, `metrics index filled again: ${what}`);
  deps.logger.warn(
    { index: identity.uuid, documents: identity.documents, hours: keptHours.length, days: days.length },
    'the metrics index is not the one the state was published into: indexing every stored window again',
  );
  const republishWindows = async (granularity: 'hour' | 'day', startsMs: readonly number[]): Promise<void> => {
    let done = 0;
    await mapConcurrently(startsMs, deps.hourConcurrency, async (windowStartMs) => {
      const at = `${granularity} ${new Date(windowStartMs).toISOString()}`;
      const groups = await withRetry(run, `reading the state of ${at}`, () =>
        granularity === 'hour' ? deps.state.readHourTotals(windowStartMs) : deps.state.readDay(windowStartMs),
      );
      await publishWindow(run, { granularity, windowStartMs }, groups, [], { reindexAll: true });
      done += 1;
      if (done % REPUBLISH_PROGRESS_WINDOWS === 0) progress(`${done} of ${startsMs.length} ${granularity} windows`);
    });
    progress(`${startsMs.length} ${granularity} windows`);
  };
  await republishWindows('hour', keptHours);
  await republishWindows('day', days);
  let groups = 0;
  for await (const page of deps.state.allTimeGroupPages(deps.bulkSize)) {
    const users = await withRetry(run, 'counting all-time users', () => deps.state.countAllTimeUsersOf(page.map(({ group }) => group)));
    // The scan brings the stored sums; only unknown ones (a keyspace from before them) are read, and summed, per group.
    const writes = await mapConcurrently(page, deps.groupConcurrency, async ({ group, allTime: stored }) => {
      const allTime =
        stored ??
        (await withRetry(run, `reading the all-time totals of ${group.urlKey}`, () => deps.state.readGroupTotals(group, []))).allTime;
      return allTimeWrite({ group, allTime, uniqueUsers: users.get(groupKey(group)) ?? 0, updatedAtMs: run.nowMs });
    });
    await index(run, writes);
    const before = groups;
    groups += page.length;
    if (Math.floor(groups / REPUBLISH_PROGRESS_GROUPS) > Math.floor(before / REPUBLISH_PROGRESS_GROUPS))
      progress(`${groups} all-time groups so far`);
  }
  progress(`${groups} all-time groups`);
  run.counts.republished += run.counts.indexed - indexedBefore;
}

/** Step 4: windows indexed as not final earlier and final now are re-indexed from their stored state. */
export async function finaliseWindows(run: RunContext): Promise<void> {
  const { state } = run.deps;
  for (const window of run.plan.toFinalise) {
    const at = `${window.granularity} ${new Date(window.windowStartMs).toISOString()}`;
    const groups = await withRetry(run, `reading the state of ${at}`, () =>
      window.granularity === 'hour' ? state.readHourTotals(window.windowStartMs) : state.readDay(window.windowStartMs),
    );
    await publishWindow(run, window, groups, groups);
    run.counts.finalised += 1;
  }
}

/**
 * Step 5: the all-time documents of the groups whose day numbers changed (the stored all-time
 * sums with this run's days in place of their stored totals), then the days' state. Runs once at
 * the end, and earlier whenever the days held reach `allTimePassDayGroups` groups; each pass
 * starts afresh (nothing of the days it stored is kept).
 */
export async function publishAllTime(run: RunContext): Promise<void> {
  const { deps } = run;
  const runDays = run.dayChanges.map((change) => ({
    dayMs: change.dayMs,
    groups: new Map(change.next.map((group) => [groupKey(group), group])),
    touched: change.touched,
  }));
  const runDayStarts = runDays.map((day) => day.dayMs);
  // Touched groups of the days' stored state: the others are mostly new (a first run, a rebuild),
  // whose all-time partition does not exist yet. A group new to the all-time sets (no users before
  // this pass) has no totals stored either: they are not read, unless a day of the pass has it
  // stored (state the users' count does not explain: read rather than trusted).
  const storedInPass = new Set(run.dayChanges.flatMap((change) => change.previous.map(groupKey)));
  const groups = [...run.allTimeChanged];
  for (let start = 0; start < groups.length; start += deps.bulkSize) {
    const bulk = groups.slice(start, start + deps.bulkSize);
    // Groups whose day numbers changed without new users: their counts, read together.
    const counted = await withRetry(run, 'counting all-time users', () =>
      deps.state.countAllTimeUsersOf(bulk.flatMap(([key, group]) => (run.allTimeUsers.has(key) ? [] : [group]))),
    );
    const updates = await mapConcurrently(bulk, deps.groupConcurrency, async ([key, group]) => {
      const stored =
        run.newGroups.has(key) && !storedInPass.has(key)
          ? { allTime: NO_DAYS, days: [] }
          : await withRetry(run, 'reading all-time totals', () =>
              deps.state.readGroupTotals(group, runDayStarts, { probablyNew: !storedInPass.has(key) }),
            );
      // The group's day totals this pass changes (set where the day has it, deleted where it left a
      // stored day; a day that did not touch it keeps it as stored), and the all-time sums moved by
      // the difference: no other day is read.
      const dayTotals: { dayMs: number; totals: GroupTotals | null }[] = [];
      for (const runDay of runDays) {
        const fresh = runDay.groups.get(key);
        if (fresh !== undefined) dayTotals.push({ dayMs: runDay.dayMs, totals: fresh });
        else if (runDay.touched.has(key) && stored.days.some((day) => day.dayMs === runDay.dayMs))
          dayTotals.push({ dayMs: runDay.dayMs, totals: null });
      }
      let allTime = movedSums(stored, dayTotals);
      if (allTime === undefined) {
        // Sums no stored days can give (a lost or stray write): summed again from every day, then moved as they are.
        deps.logger.warn(
          { urlKey: group.urlKey.slice(0, 256), country: group.country.slice(0, 64) },
          'all-time sums inconsistent with the day totals, summed again',
        );
        const resummed = await withRetry(run, 'reading all-time totals', () =>
          deps.state.readGroupTotals(group, runDayStarts, { resum: true }),
        );
        allTime = movedSums(resummed, dayTotals, { check: false }) ?? NO_DAYS;
      }
      const uniqueUsers = run.allTimeUsers.get(key) ?? counted.get(key) ?? 0;
      return { group, dayTotals, allTime, write: allTimeWrite({ group, allTime, uniqueUsers, updatedAtMs: run.nowMs }) };
    });
    await index(
      run,
      updates.map((update) => update.write),
    );
    // After the documents: a crash in between leaves the days' groups unstored, so the next run sees these groups change again.
    await mapConcurrently(updates, deps.groupConcurrency, ({ group, dayTotals, allTime }) =>
      write(run, 'storing day totals', (fence) => deps.state.replaceGroupDays(group, dayTotals, allTime, fence)),
    );
  }
  run.counts.allTimeGroups += groups.length;
  for (const change of run.dayChanges) {
    const at = new Date(change.dayMs).toISOString();
    await write(run, `storing the state of day ${at}`, (fence) => deps.state.replaceDay(change.dayMs, change.next, change.previous, fence));
    if (change.completesDay)
      await write(run, `marking the state of day ${at} stored`, (fence) => deps.state.markDayRolledUp(change.dayMs, fence));
  }
  run.dayChanges.length = 0;
  run.dayGroupsHeld = 0;
  run.allTimeChanged.clear();
  run.allTimeUsers.clear();
  run.newGroups.clear();
  run.newGroupUsers.clear();
  run.newGroupUsersCount = 0;
}

/**
 * The stored all-time sums with the given days' stored totals replaced by their new ones (`null`:
 * the day left), or `undefined` when the sums cannot be those of the stored days: what is left of
 * them without these days must be the sums of the other days (no negative number, at least one
 * click per day and at most one time-spent sample per click, nothing without a day), unless
 * `check` is false (sums just summed from the days). Pure.
 */
export function movedSums(
  stored: { readonly allTime: GroupAllTime; readonly days: readonly GroupDay[] },
  changes: readonly { readonly dayMs: number; readonly totals: MergeableTotals | null }[],
  { check = true } = {},
): GroupAllTime | undefined {
  const add = (sums: GroupAllTime, sign: 1 | -1, part: MergeableTotals): GroupAllTime => ({
    days: sums.days + sign,
    clicks: sums.clicks + sign * part.clicks,
    timeSpentSumMs: sums.timeSpentSumMs + sign * part.timeSpentSumMs,
    timeSpentSamples: sums.timeSpentSamples + sign * part.timeSpentSamples,
  });
  let others = stored.allTime;
  for (const { dayMs } of changes) {
    const old = stored.days.find((day) => day.dayMs === dayMs);
    if (old !== undefined) others = add(others, -1, old);
  }
  const { days, clicks, timeSpentSumMs, timeSpentSamples } = others;
  const possible =
    !check ||
    ([days, clicks, timeSpentSumMs, timeSpentSamples].every((value) => Number.isSafeInteger(value) && value >= 0) &&
      clicks >= days &&
      timeSpentSamples <= clicks &&
      (days > 0 || clicks + timeSpentSumMs === 0));
  if (!possible) return undefined;
  return changes.reduce((sums, { totals }) => (totals === null ? sums : add(sums, 1, totals)), others);
}

/** With an hour-document retention: the hour documents past it are deleted (day and all-time documents stay). */
export async function expireHourDocuments(run: RunContext): Promise<void> {
  const expiry = run.deps.expireHourDocuments;
  if (expiry === undefined || expiry.retentionMs === 0) return;
  run.signal.throwIfAborted();
  run.counts.deleted += await expiry.deleteBefore(run.nowMs - expiry.retentionMs);
}

/**
 * Step 6: the counters read at the start are recorded as done: those of `daysMs` (days an all-time
 * pass just finished, with all their hours), or at the end of the run every one not released yet.
 */
export async function releasePending(run: RunContext, daysMs?: ReadonlySet<number>): Promise<void> {
  const due = (startMs: number): boolean => {
    const dayMs = dayStartMs(startMs);
    return daysMs === undefined ? !run.releasedDays.has(dayMs) : daysMs.has(dayMs);
  };
  const work = { days: run.work.days.filter((day) => due(day.startMs)), hours: run.work.hours.filter((hour) => due(hour.startMs)) };
  await write(run, 'releasing the pending hours', (fence) => run.deps.pendingHours.release(work, fence));
  for (const dayMs of daysMs ?? []) run.releasedDays.add(dayMs);
}

/**
 * Indexes a window's changed documents with its current final flag, keeping `open_windows` in
 * step (an open window recorded before its documents, a window indexed as final no longer open);
 * `reindexAll` (by default: the window turns final now) indexes every one of `groups`.
 * `recordFinal: false` (a slice of the window's groups): a window that turned final stays
 * recorded open, so that the next slices re-index theirs whole too; {@link recordFinal} follows.
 */
async function publishWindow(
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

/** Windows indexed as final (every document of them) are no longer recorded open. */
async function recordFinal(run: RunContext, windows: readonly WindowRef[]): Promise<void> {
  if (windows.length === 0) return;
  await write(run, 'recording a final window', (fence) => run.deps.state.markFinal(windows, fence));
  for (const window of windows) run.open.delete(windowKey(window));
}

/** Whether a window indexed as not final is final now: every group of it is then re-indexed. */
function turnsFinal(run: RunContext, window: WindowRef): boolean {
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
async function index(run: RunContext, writes: Iterable<MetricWrite>): Promise<void> {
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
function write<T>(run: RunContext, what: string, operation: (fence: WriteFence) => Promise<T>): Promise<T> {
  run.signal.throwIfAborted();
  return withRetry(run, what, () => operation(run.fence));
}

function withRetry<T>(
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
