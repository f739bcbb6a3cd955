import type { GroupRef } from './groups.ts';
import type { MetricEvent } from './metric-event.ts';

/** Characters of an event's or a group's strings that count as one more unit towards a memory bound. */
export const CHARS_PER_UNIT = 256;

/**
 * How much of the aggregator's event bound (`AGGREGATOR_MAX_EVENTS_IN_MEMORY`) an event takes:
 * 1, plus 1 per {@link CHARS_PER_UNIT} characters of its strings. An event with a 2,000-character
 * url_key holds several times the memory of a usual one; counted as 1, a bound in events would
 * not bound memory.
 */
export function eventWeight(event: MetricEvent): number {
  const chars = event.eventId.length + event.userId.length + (event.sessionId?.length ?? 0) + event.urlKey.length + event.country.length;
  return 1 + Math.floor(chars / CHARS_PER_UNIT);
}

/**
 * How much of the aggregator's group bound (`AGGREGATOR_MAX_GROUPS_IN_MEMORY`) a (url, country)
 * takes: 1, plus 1 per {@link CHARS_PER_UNIT} characters of its url_key and country (a run holds a
 * group's key in several copies).
 */
export function groupWeight(group: GroupRef): number {
  return 1 + Math.floor((group.urlKey.length + group.country.length) / CHARS_PER_UNIT);
}
