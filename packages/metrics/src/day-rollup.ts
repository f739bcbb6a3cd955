import type { HourGroup, MergeableTotals, WindowGroup } from './groups.ts';
import { groupKey } from './groups.ts';
import { compareCodePoints } from './ordering.ts';
import { mergeTotals } from './window-aggregates.ts';

/**
 * Rolls a day's hours up into the day's groups: clicks and time spent are the sums over the
 * hours, unique users the size of the union of the hours' user sets (a user active in several
 * hours counts once). Pure; memory is the day's distinct (group, user) pairs.
 *
 * @param hours the groups of each hour of one UTC day (hours without events may be left out).
 * @returns one group per (url, country) present in some hour, ordered by url then country (code points).
 */
export function rollUpDay(hours: Iterable<readonly HourGroup[]>): WindowGroup[] {
  const groups = new Map<string, { urlKey: string; country: string; parts: MergeableTotals[]; users: Set<string> }>();
  for (const hour of hours) {
    for (const group of hour) {
      const key = groupKey(group);
      let day = groups.get(key);
      if (day === undefined) {
        day = { urlKey: group.urlKey, country: group.country, parts: [], users: new Set() };
        groups.set(key, day);
      }
      day.parts.push(group);
      for (const userId of group.userIds) day.users.add(userId);
    }
  }
  return [...groups.values()]
    .map((day) => ({ urlKey: day.urlKey, country: day.country, ...mergeTotals(day.parts), uniqueUsers: day.users.size }))
    .sort((a, b) => compareCodePoints(a.urlKey, b.urlKey) || compareCodePoints(a.country, b.country));
}
