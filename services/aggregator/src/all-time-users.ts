/** Step 2, storing: the recomputed hours' new users added to their groups' exact all-time user sets. */
import { groupKey } from '@clickstream/metrics';
import type { GroupRef, HourGroup } from '@clickstream/metrics';
import { mapConcurrently } from './map-concurrently.ts';
import { withRetry, write } from './run-context.ts';
import type { HourChange, RunContext } from './run-context.ts';

/**
 * The users new to the recomputed hours go into their groups' all-time sets (the stored count
 * follows). Each group's candidates (users in a new hour set and not in the hour's previous set)
 * are gathered when its turn comes, so memory holds `groupConcurrency` groups' candidates, not a
 * copy of the day's users.
 */
export async function addAllTimeUsers(run: RunContext, changes: readonly HourChange[]): Promise<void> {
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
    const addition = await withRetry(run, 'looking up all-time users', () => run.deps.state.planAllTimeUsers(group, userIds, known));
    // A retry sends the same addition again, never reads the set again: an attempt that timed out
    // may still land (a paused coordinator that resumes), and reads made meanwhile could see the
    // users it adds but not its count.
    const users = await write(run, 'adding all-time users', (fence) => run.deps.state.writeAllTimeUsers(addition, fence));
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
