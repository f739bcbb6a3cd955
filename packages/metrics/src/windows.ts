/** Metric window sizes: a UTC hour [HH:00, HH+1:00), a UTC day [00:00, 24:00), or all time. */
export type Granularity = 'hour' | 'day' | 'all';
/** The granularities with a window in time (every one but `all`). */
export type WindowGranularity = Exclude<Granularity, 'all'>;

/** Length of an `hour` window, in milliseconds. */
export const HOUR_MS = 60 * 60_000;

/** Length of a `day` window, in milliseconds (UTC days have no leap seconds in epoch time). */
export const DAY_MS = 24 * HOUR_MS;

/**
 * Longest gap to a user's next event that still counts as time spent, in milliseconds; also how
 * far past a window's end its time spent can still change (the look-ahead).
 */
export const SESSION_GAP_MS = 30 * 60_000;

/** How long past its end (and the look-ahead) a window stays open to late events, in milliseconds. */
export const DEFAULT_ALLOWED_LATENESS_MS = 10 * 60_000;

/**
 * Start of the UTC hour containing `timeMs`.
 *
 * @param timeMs epoch milliseconds.
 * @returns epoch milliseconds, a multiple of {@link HOUR_MS}, at most `timeMs`.
 * @throws RangeError when `timeMs` is not finite.
 */
export function hourStartMs(timeMs: number): number {
  return floorToMultiple(timeMs, HOUR_MS);
}

/**
 * Start of the UTC day containing `timeMs`.
 *
 * @param timeMs epoch milliseconds.
 * @returns epoch milliseconds, a multiple of {@link DAY_MS}, at most `timeMs`.
 * @throws RangeError when `timeMs` is not finite.
 */
export function dayStartMs(timeMs: number): number {
  return floorToMultiple(timeMs, DAY_MS);
}

/**
 * End (exclusive) of the window starting at `windowStartMs`, or null for `all`.
 *
 * @param windowStartMs epoch milliseconds of an hour or day start; null exactly for `all`.
 * @returns epoch milliseconds, or null for `all`.
 * @throws RangeError when `windowStartMs` is null for `hour`/`day`, set for `all`, or not the
 *   start of a UTC hour/day.
 */
export function windowEndMs(granularity: Granularity, windowStartMs: number | null): number | null {
  if (granularity === 'all') {
    if (windowStartMs !== null) {
      throw new RangeError(`An 'all' window has no start, got ${windowStartMs}`);
    }
    return null;
  }
  if (windowStartMs === null) {
    throw new RangeError(`An '${granularity}' window needs a start, got null`);
  }
  const lengthMs = granularity === 'hour' ? HOUR_MS : DAY_MS;
  if (floorToMultiple(windowStartMs, lengthMs) !== windowStartMs) {
    throw new RangeError(`${windowStartMs} is not the start of a UTC ${granularity}`);
  }
  return windowStartMs + lengthMs;
}

/**
 * The hour starts whose metrics an event at `eventTimeMs` can change, ascending and distinct:
 * its own hour, and the hour of `eventTimeMs - SESSION_GAP_MS`, because the event can be the
 * next event of the same user's event up to 30 minutes earlier and so define its time spent.
 *
 * @param eventTimeMs epoch milliseconds.
 * @returns one or two epoch-millisecond hour starts.
 */
export function hoursAffectedBy(eventTimeMs: number): number[] {
  const ownHourMs = hourStartMs(eventTimeMs);
  const earliestHourMs = hourStartMs(eventTimeMs - SESSION_GAP_MS);
  return earliestHourMs === ownHourMs ? [ownHourMs] : [earliestHourMs, ownHourMs];
}

/**
 * Whether a window's numbers are final: true once `nowMs` reaches the window's end plus the
 * allowed lateness plus the {@link SESSION_GAP_MS} look-ahead. An `all` window is never final.
 * Later events still re-open a final window; this only labels the document.
 *
 * @param windowStartMs epoch milliseconds of the window start; null exactly for `all`.
 * @param nowMs epoch milliseconds.
 * @param allowedLatenessMs milliseconds, at least 0.
 * @throws RangeError on a start that does not fit the granularity (see {@link windowEndMs}) or a
 *   negative or non-finite lateness.
 */
export function isFinal(
  granularity: Granularity,
  windowStartMs: number | null,
  nowMs: number,
  allowedLatenessMs: number = DEFAULT_ALLOWED_LATENESS_MS,
): boolean {
  if (!Number.isFinite(allowedLatenessMs) || allowedLatenessMs < 0) {
    throw new RangeError(`Allowed lateness must be a finite number of ms >= 0, got ${allowedLatenessMs}`);
  }
  const endMs = windowEndMs(granularity, windowStartMs);
  if (endMs === null) {
    return false;
  }
  return nowMs >= endMs + allowedLatenessMs + SESSION_GAP_MS;
}

function floorToMultiple(timeMs: number, unitMs: number): number {
  if (!Number.isFinite(timeMs)) {
    throw new RangeError(`Expected a finite epoch time in ms, got ${timeMs}`);
  }
  // Integer remainder instead of Math.floor(t / unit) * unit: exact for every safe integer,
  // and the double modulo also floors times before 1970.
  return timeMs - (((timeMs % unitMs) + unitMs) % unitMs);
}
