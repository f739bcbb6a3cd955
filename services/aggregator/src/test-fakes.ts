/* eslint-disable @typescript-eslint/require-await -- in-memory fakes of async interfaces answer at once */
// Test-only fakes of the aggregator's dependencies, shared by its unit tests; not exported from the package.
import { NO_DAYS, TooManyEventsError } from '@clickstream/cassandra';
import type {
  AggregatorStateRepository,
  EventsRepository,
  GroupAllTime,
  GroupDay,
  GroupsPage,
  LeaseRepository,
  PendingHoursRepository,
} from '@clickstream/cassandra';
import type { LeftOutUser, MetricsIndexer, MetricWrite } from '@clickstream/elasticsearch';
import {
  compareCodePoints,
  eventWeight,
  groupKey,
  inGroupSlice,
  isSelected,
  mergeTotals,
  windowGroupOf,
  windowKey,
} from '@clickstream/metrics';
import type { GroupTotals, HourGroup, MergeableTotals, MetricEvent, WindowGroup, WindowRef } from '@clickstream/metrics';
import { createLogger } from '@clickstream/observability';
import type { LeaseClock } from './run-lease.ts';

export const silentLogger = createLogger({ service: 'test', level: 'silent' });

/** A clock whose timers fire only when the test advances it. */
export function manualClock(): LeaseClock & { advance(ms: number): Promise<void> } {
  let nowMs = 0;
  let timers: { atMs: number; callback: () => void }[] = [];
  return {
    now: () => nowMs,
    setTimeout(callback, delayMs) {
      const timer = { atMs: nowMs + delayMs, callback };
      timers.push(timer);
      return { cancel: () => (timers = timers.filter((t) => t !== timer)) };
    },
    async advance(ms) {
      const untilMs = nowMs + ms;
      for (;;) {
        const due = timers.filter((t) => t.atMs <= untilMs).sort((a, b) => a.atMs - b.atMs)[0];
        if (due === undefined) break;
        timers = timers.filter((t) => t !== due);
        nowMs = due.atMs;
        due.callback();
        // Lets the renewal that the timer started settle before the next timer.
        for (let i = 0; i < 10; i += 1) await Promise.resolve();
      }
      nowMs = untilMs;
    },
  };
}

/** One lease in memory, with scriptable renewals; records every call. */
export function fakeLeases(
  options: { heldBy?: string; renewals?: (boolean | Error)[]; acquisitions?: Error[] } = {},
): LeaseRepository & { calls: string[] } {
  let holder: string | null = options.heldBy ?? null;
  let token = 0;
  const renewals = [...(options.renewals ?? [])];
  const acquisitions = [...(options.acquisitions ?? [])];
  const calls: string[] = [];
  return {
    calls,
    async tryAcquire(_name, who) {
      calls.push(`acquire ${who}`);
      const failure = acquisitions.shift();
      if (failure) throw failure;
      if (holder !== null) return null;
      holder = who;
      token += 1;
      return token;
    },
    async renew(_name, who, grant) {
      calls.push(`renew ${who} ${grant}`);
      const scripted = renewals.shift();
      if (scripted instanceof Error) throw scripted;
      if (scripted === false) holder = 'someone else';
      return holder === who && grant === token;
    },
    async release(_name, who, grant) {
      calls.push(`release ${who} ${grant}`);
      if (holder === who && grant === token) holder = null;
    },
    async holderOf() {
      return holder;
    },
  };
}

/** A window's stored groups after a replacement, as the real store does it: `next` written, the groups of `previous` not in it deleted, the others kept. */
function replaced<G extends GroupTotals>(stored: readonly G[] | undefined, next: readonly G[], previous: readonly G[]): G[] {
  const groups = new Map((stored ?? []).map((group) => [groupKey(group), group]));
  for (const group of previous) groups.delete(groupKey(group));
  for (const group of next) groups.set(groupKey(group), group);
  return [...groups.values()].sort((a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country));
}

/** A page of `pageGroups` of a window's groups from `pageState` (the offset the page before it gave), as the real store pages them. */
function groupsPage<G extends GroupTotals>(
  groups: readonly G[],
  pageState: string | undefined,
  pageGroups: number,
  toWindowGroup: (group: G) => WindowGroup,
): GroupsPage {
  const start = Number(pageState ?? '0');
  const end = start + pageGroups;
  return { groups: groups.slice(start, end).map(toWindowGroup), next: end < groups.length ? String(end) : undefined };
}

/**
 * Everything a run needs, in memory; `log` records the writes in order. Windows are read
 * `pageGroups` groups a page (by default few, so that the tests' windows take several pages).
 */
export function fakeAggregationStore(events: MetricEvent[], { pageGroups = 2 } = {}) {
  const log: string[] = [];
  /** Events returned by each read. */
  const reads: number[] = [];
  /** The time range of each read that returned, `[fromMs, toMs]`, in order. */
  const readRanges: [number, number][] = [];
  /** The event limits of the reads in flight, summed: what they may hold at once (`peak`: the most seen). */
  const heldAtMost = { now: 0, peak: 0 };
  const pending = new Map<number, number>();
  const done = new Map<number, number>();
  const hours = new Map<number, HourGroup[]>();
  const days = new Map<number, WindowGroup[]>();
  const allTime = new Map<string, Set<string>>();
  const allTimeCounts = new Map<string, number>();
  const groupDays = new Map<string, Map<number, GroupDay>>();
  const allTimeSums = new Map<string, GroupAllTime>();
  const pickTotals = (t: GroupTotals): MergeableTotals => ({
    clicks: t.clicks,
    timeSpentSumMs: t.timeSpentSumMs,
    timeSpentSamples: t.timeSpentSamples,
  });
  /** The day roll-up's marks: when each day was marked stored, and when each group was marked. */
  const dayMarks = new Map<number, { rolledUpAt?: bigint; groups: Map<string, bigint> }>();
  const dayMarksOf = (dayMs: number) => {
    const marks = dayMarks.get(dayMs) ?? { groups: new Map<string, bigint>() };
    dayMarks.set(dayMs, marks);
    return marks;
  };
  const open = new Map<string, WindowRef>();
  const documents = new Map<string, MetricWrite>();
  const published = new Map<string, string>();
  const at = (ms: number): string => new Date(ms).toISOString().slice(0, 13);

  const eventsRepository: EventsRepository = {
    async writeEvents() {
      throw new Error('not used');
    },
    async readEvents(fromMs, toMs, read = {}) {
      const limit = read.maxEvents ?? Number.POSITIVE_INFINITY;
      // A read without a limit (a count, keeping nothing) holds what it returns.
      const held = read.maxEvents ?? 0;
      heldAtMost.now += held;
      heldAtMost.peak = Math.max(heldAtMost.peak, heldAtMost.now);
      try {
        // A turn of the event loop, as a real read takes: reads run concurrently can overlap.
        await new Promise((resolve) => setImmediate(resolve));
        const kept = events.filter(
          (e) => e.eventTimeMs >= fromMs && e.eventTimeMs < toMs && (read.keepUser?.(e.userId, eventWeight(e)) ?? true),
        );
        // As the real store: the limit is on the events' weight (one each, more for long strings).
        const weight = kept.reduce((sum, e) => sum + eventWeight(e), 0);
        if (weight > limit) throw new TooManyEventsError(limit);
        if (read.maxEvents === undefined) heldAtMost.peak = Math.max(heldAtMost.peak, heldAtMost.now + weight);
        reads.push(kept.length);
        readRanges.push([fromMs, toMs]);
        return kept;
      } finally {
        heldAtMost.now -= held;
      }
    },
  };
  const pendingHours: PendingHoursRepository = {
    async mark(hoursMs) {
      for (const hourMs of new Set(hoursMs)) pending.set(hourMs, (pending.get(hourMs) ?? 0) + 1);
    },
    async pending() {
      const hoursPending = [...pending]
        .filter(([hourMs, n]) => n > (done.get(hourMs) ?? 0))
        .map(([startMs, changes]) => ({ startMs, changes }));
      return { days: [], hours: hoursPending.sort((a, b) => a.startMs - b.startMs) };
    },
    async release(work) {
      log.push(`release ${work.hours.length}`);
      for (const hour of work.hours) done.set(hour.startMs, hour.changes);
    },
  };
  const state: AggregatorStateRepository = {
    async readHour(hourMs, onlyGroups) {
      return (hours.get(hourMs) ?? []).filter((group) => isSelected(onlyGroups, group));
    },
    async readHourTotals(hourMs, pageState) {
      return groupsPage(hours.get(hourMs) ?? [], pageState, pageGroups, windowGroupOf);
    },
    async replaceHour(hourMs, next, previous) {
      log.push(`state hour ${at(hourMs)}`);
      hours.set(hourMs, replaced(hours.get(hourMs), next, previous));
    },
    async readDay(dayMs, onlyGroups) {
      // A day can hold more groups than memory: the run reads the groups it needs by key, or the day a page at a time.
      if (onlyGroups === undefined || 'slices' in onlyGroups) throw new Error('a whole day (or a slice of it) read at once');
      return (days.get(dayMs) ?? []).filter((group) => isSelected(onlyGroups, group));
    },
    async readDayTotals(dayMs, pageState) {
      return groupsPage(days.get(dayMs) ?? [], pageState, pageGroups, (group) => group);
    },
    async replaceDay(dayMs, next, previous) {
      log.push(`state day ${at(dayMs)}`);
      days.set(dayMs, replaced(days.get(dayMs), next, previous));
    },
    async readGroupTotals(group, daysMs, options = {}) {
      const stored = groupDays.get(groupKey(group));
      const summed = { ...mergeTotals([...(stored?.values() ?? [])]), days: stored?.size ?? 0 };
      return {
        allTime: options.resum === true ? summed : (allTimeSums.get(groupKey(group)) ?? NO_DAYS),
        days: daysMs.flatMap((dayMs) => {
          const day = stored?.get(dayMs);
          return day === undefined ? [] : [day];
        }),
      };
    },
    async replaceGroupDays(group, changed, sums) {
      log.push(`state day totals ${group.urlKey}`);
      const stored = groupDays.get(groupKey(group)) ?? new Map<number, GroupDay>();
      for (const { dayMs, totals } of changed) {
        if (totals === null) stored.delete(dayMs);
        else stored.set(dayMs, { urlKey: group.urlKey, country: group.country, ...pickTotals(totals), dayMs });
      }
      groupDays.set(groupKey(group), stored);
      // The real store keeps the sums equal to the days (one batch): a run that moved them wrong fails here.
      const summed = { ...mergeTotals([...stored.values()]), days: stored.size };
      const given = { clicks: sums.clicks, timeSpentSumMs: sums.timeSpentSumMs, timeSpentSamples: sums.timeSpentSamples, days: sums.days };
      if (JSON.stringify(summed) !== JSON.stringify(given))
        throw new Error(`all-time sums ${JSON.stringify(sums)} differ from the days' ${JSON.stringify(summed)}`);
      allTimeSums.set(groupKey(group), sums);
    },
    async planAllTimeUsers(group, userIds, known) {
      const key = groupKey(group);
      // As the real store: the set given is trusted with its count (nobody looked up); otherwise
      // both are as stored.
      const stored = known?.users ?? allTime.get(key) ?? new Set<string>();
      const trusted = known?.users !== undefined || userIds.size === 0 ? known?.count : undefined;
      const before = trusted ?? allTimeCounts.get(key) ?? 0;
      return { group, before, fresh: [...userIds].filter((userId) => !stored.has(userId)) };
    },
    async writeAllTimeUsers({ group, before, fresh }) {
      log.push(`all-time users ${group.urlKey}`);
      const key = groupKey(group);
      const users = allTime.get(key) ?? new Set<string>();
      for (const userId of fresh) users.add(userId);
      allTime.set(key, users);
      allTimeCounts.set(key, before + fresh.length);
      return before + fresh.length;
    },
    async countAllTimeUsers(group) {
      return allTimeCounts.get(groupKey(group)) ?? 0;
    },
    async countAllTimeUsersOf(groups) {
      return new Map([...groups].map((group) => [groupKey(group), allTimeCounts.get(groupKey(group)) ?? 0]));
    },
    async readDayMarks(dayMs, slice) {
      const marks = dayMarks.get(dayMs);
      const rolledUpAt = marks?.rolledUpAt;
      if (marks === undefined || rolledUpAt === undefined) return undefined;
      return new Set(
        [...marks.groups].flatMap(([key, markedAt]) => {
          const [urlKey = '', country = ''] = JSON.parse(key) as string[];
          return markedAt > rolledUpAt && inGroupSlice({ urlKey, country }, slice) ? [key] : [];
        }),
      );
    },
    async markDayGroups(dayMs, groups, fence) {
      const markedAt = BigInt(fence.nextTimestamp().toString());
      const keys = [...groups].map(groupKey);
      log.push(`mark day ${at(dayMs)} ${keys.join(' ')}`);
      for (const key of keys) dayMarksOf(dayMs).groups.set(key, markedAt);
    },
    async markDayRolledUp(dayMs, fence) {
      dayMarksOf(dayMs).rolledUpAt = BigInt(fence.nextTimestamp().toString());
    },
    async listOpenWindows() {
      return [...open.values()];
    },
    async readPublishedIndex(alias) {
      return published.get(alias);
    },
    async recordPublishedIndex(alias, indexUuid) {
      published.set(alias, indexUuid);
    },
    async listStoredHours() {
      return [...hours.keys()].filter((hourMs) => (hours.get(hourMs) ?? []).length > 0).sort((a, b) => a - b);
    },
    async listStoredDays() {
      return [...days.keys()].filter((dayMs) => (days.get(dayMs) ?? []).length > 0).sort((a, b) => a - b);
    },
    async *allTimeGroupPages(pageSize) {
      const groups = [...groupDays.entries()].flatMap(([key, stored]) => {
        const first = stored.values().next();
        return first.done === true
          ? []
          : [{ group: { urlKey: first.value.urlKey, country: first.value.country }, allTime: allTimeSums.get(key) }];
      });
      for (let start = 0; start < groups.length; start += pageSize) yield groups.slice(start, start + pageSize);
    },
    async markOpen(windows) {
      for (const w of windows) open.set(windowKey(w), w);
    },
    async markFinal(windows) {
      for (const w of windows) open.delete(windowKey(w));
    },
  };
  const indexer: MetricsIndexer & { writes: MetricWrite[]; leftOut: LeftOutUser[] } = {
    writes: [],
    leftOut: [],
    async recordLeftOut(users) {
      log.push(`left out ${users.length}`);
      indexer.leftOut.push(...users);
    },
    async write(writes) {
      for (const w of writes) {
        const granularity = w.action === 'index' ? w.document.granularity : 'delete';
        log.push(`index ${granularity}`);
        indexer.writes.push(w);
        if (w.action === 'index') documents.set(w.id, w);
        else documents.delete(w.id);
      }
      const deleted = writes.filter((w) => w.action === 'delete').length;
      return { indexed: writes.length - deleted, deleted, quarantined: 0 };
    },
  };
  /** The index the alias writes to: `replace()` swaps it for an empty one (deleted and installed again). */
  let indexUuid = 'index-1';
  const metricsIndex = {
    alias: 'fake-metrics',
    async identify() {
      return { uuid: indexUuid, documents: documents.size };
    },
    replace() {
      documents.clear();
      indexUuid = `index-${Number(indexUuid.slice('index-'.length)) + 1}`;
    },
  };
  return { log, reads, readRanges, heldAtMost, documents, indexer, metricsIndex, events: eventsRepository, pendingHours, state };
}
