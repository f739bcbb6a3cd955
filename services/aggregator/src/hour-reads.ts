/**
 * Step 2, reading: a day's pending hours recomputed from their events, in chains that share each
 * hour's look-ahead, within the run's share of AGGREGATOR_MAX_EVENTS_IN_MEMORY; an hour bigger
 * than that is read in slices of its users, and a user bigger than it alone is left out.
 */
import { TooManyEventsError } from '@clickstream/cassandra';
import {
  HOUR_MS,
  SESSION_GAP_MS,
  TooManyGroupsError,
  aggregateHour,
  createHourSliceMerger,
  eventWeight,
  fnv1a32,
} from '@clickstream/metrics';
import type { HourAggregation, HourGroup, MetricEvent } from '@clickstream/metrics';
import { mapConcurrently } from './map-concurrently.ts';
import { holdGroups, withRetry } from './run-context.ts';
import type { DayPart, HourChange, RunContext } from './run-context.ts';
import type { DayPlan } from './run-plan.ts';

/**
 * Step 2, reading: the day's pending hours recomputed from their events, beside their stored state.
 * The hours go in chains of consecutive hours (up to `hourConcurrency` at a time), each read from
 * its latest hour down: an hour's 30-minute look-ahead is then the first half of the hour read
 * just before it, kept from that read instead of read again (a day of pending hours reads 25
 * hours of events instead of 36).
 */
export async function readHours(run: RunContext, day: DayPlan, part: DayPart): Promise<HourChange[]> {
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
