/**
 * One aggregation run, as the sequence of its steps (see {@link runAggregation}); the steps that
 * read hours, add all-time users, publish all-time documents and fill a replaced index live in
 * their own files, over the context of `run-context.ts`.
 */
import { Semaphore } from 'async-mutex';
import { createWriteFence } from '@clickstream/cassandra';
import {
  HOUR_MS,
  SESSION_GAP_MS,
  TooManyGroupsError,
  compareCodePoints,
  dayStartMs,
  groupKey,
  inGroupSlice,
  isFinal,
  rollUpDay,
  sameNumbers,
  sameTotals,
  sameUserIds,
  windowGroupOf,
  windowKey,
} from '@clickstream/metrics';
import type { GroupRef, GroupSlice, HourGroup, WindowRef } from '@clickstream/metrics';
import { addAllTimeUsers } from './all-time-users.ts';
import { publishAllTime } from './all-time-documents.ts';
import { readHours } from './hour-reads.ts';
import { mapConcurrently, settleAll } from './map-concurrently.ts';
import { republishIfIndexReplaced } from './republish.ts';
import {
  ALL_TIME_PASS_DAY_GROUPS,
  dayPart,
  publishWindow,
  recordFinal,
  storedWindowPages,
  timed,
  turnsFinal,
  withRetry,
  write,
} from './run-context.ts';
import type { AggregationDependencies, DayPart, HourChange, RunContext, StepName } from './run-context.ts';
import { eventsRetentionMsOf, planRun } from './run-plan.ts';
import type { DayPlan } from './run-plan.ts';
import type { LeaseGrant } from './run-lease.ts';

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

/** A day's recomputed hours (their new groups), and the groups its roll-up must recompute. */
interface DayRecompute {
  readonly hours: readonly { readonly hourMs: number; readonly next: readonly HourGroup[] }[];
  readonly touched: ReadonlySet<string>;
  /** The part of the day's groups recomputed (the whole day by default). */
  readonly part?: DayPart;
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
 * most `maxGroupsInMemory` groups (a day of more goes in slices of its groups); a window read
 * from the state whole (finalised, or indexed again) comes a page at a time.
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

/**
 * Step 3: rolls the day up from its hours (the recomputed ones from memory) and indexes what changed.
 * Only the touched groups can change in the day (those whose hours this run changed, and those a
 * run that died before storing the day marked): the day's other groups keep their stored numbers,
 * and the day's state and its stored hours are read for the touched groups only. A run's cost
 * follows the groups it changed, not the size of the day. A day that turns final in this run has
 * its other groups (of the part) re-indexed as final from its stored state, a page at a time.
 */
export async function rollUpDayOf(run: RunContext, day: DayPlan, recomputed: DayRecompute): Promise<void> {
  const { deps } = run;
  const { touched, part = dayPart(undefined) } = recomputed;
  const window = { granularity: 'day', windowStartMs: day.dayMs } as const;
  const whole = turnsFinal(run, window);
  const fresh = new Map(recomputed.hours.map((change) => [change.hourMs, change.next]));
  const stored = Array.from({ length: 24 }, (_, hour) => day.dayMs + hour * HOUR_MS).filter((hourMs) => !fresh.has(hourMs));
  const [storedHours, previous] = await Promise.all([
    mapConcurrently(stored, Math.max(deps.hourConcurrency, 4), (hourMs) =>
      withRetry(run, `reading the state of ${new Date(hourMs).toISOString()}`, () => deps.state.readHour(hourMs, touched)),
    ),
    withRetry(run, `reading the state of day ${new Date(day.dayMs).toISOString()}`, () => deps.state.readDay(day.dayMs, touched)),
  ]);
  const freshTouched = [...fresh.values()].map((groups) => groups.filter((group) => touched.has(groupKey(group))));
  const next = rollUpDay([...freshTouched, ...storedHours]).sort(
    (a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country),
  );
  await publishWindow(run, window, next, previous, { reindexAll: whole, recordFinal: false });
  if (whole) {
    for await (const { groups } of storedWindowPages(run, window)) {
      const untouched = groups.filter((group) => !touched.has(groupKey(group)) && inGroupSlice(group, part.slice));
      await publishWindow(run, window, untouched, untouched, { recordFinal: false });
    }
    // A day in slices is recorded final after its last slice (recomputeDayInSlices).
    if (part.slice === undefined) await recordFinal(run, [window]);
  }
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
 * Step 4: windows indexed as not final earlier and final now are re-indexed from their stored
 * state, a page of groups at a time, and recorded final after their last page.
 */
export async function finaliseWindows(run: RunContext): Promise<void> {
  for (const window of run.plan.toFinalise) {
    for await (const { groups, last } of storedWindowPages(run, window))
      await publishWindow(run, window, groups, groups, { recordFinal: last });
    run.counts.finalised += 1;
  }
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
