/** Step 5: the all-time documents of the groups whose day numbers changed, and the days' state stored after them. */
import { NO_DAYS } from '@clickstream/cassandra';
import type { GroupAllTime, GroupDay } from '@clickstream/cassandra';
import { groupKey } from '@clickstream/metrics';
import type { GroupTotals, MergeableTotals } from '@clickstream/metrics';
import { mapConcurrently } from './map-concurrently.ts';
import { index, withRetry, write } from './run-context.ts';
import type { RunContext } from './run-context.ts';
import { allTimeWrite } from './window-documents.ts';

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
