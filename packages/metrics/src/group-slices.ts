import { groupKey } from './groups.ts';
import type { GroupRef } from './groups.ts';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a (32 bit) over a string's UTF-16 code units, continuing from `hash`: stable across processes and releases. (Not the events table's bucket hash, over UTF-8 bytes: see `eventBucket`.) */
export function fnv1a32(text: string, hash = FNV_OFFSET): number {
  let next = hash;
  for (let i = 0; i < text.length; i += 1) next = Math.imul(next ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  return next;
}

/** A stable 32-bit hash of a (url, country), a separator between the two (collisions only put two groups in one slice). */
export function groupHash(group: GroupRef): number {
  return fnv1a32(group.country, Math.imul(fnv1a32(group.urlKey) ^ 0xffff, FNV_PRIME) >>> 0);
}

/**
 * One of `slices` disjoint parts of the (url, country) groups, by {@link groupHash}: a window too
 * big to hold at once is aggregated, stored and indexed one part at a time, each part exact on its own
 * (a group's numbers never depend on another group's).
 */
export type GroupSlice = {
  readonly index: number;
  readonly slices: number;
};

/** Whether the group is in the slice (every group is in no slice, `undefined`). */
export function inGroupSlice(group: GroupRef, slice: GroupSlice | undefined): boolean {
  return slice === undefined || groupHash(group) % slice.slices === slice.index;
}

/** Aggregating would hold more distinct (url, country) groups than allowed: do it in slices of the groups. */
export class TooManyGroupsError extends Error {
  override readonly name = 'TooManyGroupsError';
  readonly code = 'too_many_groups';
  readonly retriable = false;
  readonly maxGroups: number;
  constructor(maxGroups: number) {
    super(`more than ${maxGroups} distinct (url, country) groups to hold at once`);
    this.maxGroups = maxGroups;
  }
}

/** Which groups a read keeps: those of a set of group keys ({@link groupKey}), or those of a slice. */
export type GroupSelection = ReadonlySet<string> | GroupSlice;

/** Whether the selection keeps the group (`undefined` keeps every group). */
export function isSelected(selection: GroupSelection | undefined, group: GroupRef): boolean {
  if (selection === undefined) return true;
  return 'slices' in selection ? inGroupSlice(group, selection) : selection.has(groupKey(group));
}
