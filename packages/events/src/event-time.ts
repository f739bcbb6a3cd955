import { invalid, type Invalid } from './invalid-reason.ts';

// Date, then optional time with optional zone (Z, ±hh, ±hhmm, ±hh:mm); `T` or a space between.
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:Z|([+-])([01]\d|2[0-3]):?([0-5]\d)?)?)?$/i;

/** Earliest accepted event time: 2000-01-01T00:00:00Z. */
export const MIN_EVENT_TIME_MS = Date.UTC(2000, 0, 1);

/** How far after ingest time an event time may lie (clock skew of producers): 24 h. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/**
 * The instant an event timestamp denotes, in epoch milliseconds, or null when it is not one.
 *
 * Accepts epoch milliseconds (an integer number, or a string of digits with an optional `-`, as in
 * the CSV shape) and ISO-8601 date-times: no zone means UTC, a space may replace `T`, a date alone
 * is midnight UTC, fractions beyond milliseconds are truncated. Impossible dates (Feb 30) are
 * rejected. The result is not range-checked (it may even lie outside what a `Date` can hold):
 * `checkEventTime` does that.
 */
export function parseEventTime(value: string | number): number | null {
  if (typeof value === 'number') return Number.isInteger(value) ? value : null;
  if (/^-?\d{1,20}$/.test(value)) return Number(value);
  const match = ISO_TIMESTAMP.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', sign, offsetHours = '00', offsetMinutes = '00'] =
    match;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const wallClock = new Date(0);
  wallClock.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  wallClock.setUTCHours(Number(hour), Number(minute), Number(second), Number(fraction.slice(0, 3).padEnd(3, '0')));
  // Out-of-range parts roll over (Feb 30 -> Mar 1); a changed part means it was invalid.
  if (
    wallClock.getUTCFullYear() !== Number(year) ||
    wallClock.getUTCMonth() !== Number(month) - 1 ||
    wallClock.getUTCDate() !== Number(day) ||
    wallClock.getUTCHours() !== Number(hour) ||
    wallClock.getUTCMinutes() !== Number(minute) ||
    wallClock.getUTCSeconds() !== Number(second)
  )
    return null;
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return wallClock.getTime() - (sign === '-' ? -offsetMs : offsetMs);
}

/**
 * The event time as a `Date` when `ms` lies in [2000-01-01T00:00:00Z, `now` + 24 h], else why not:
 * earlier is `timestamp_out_of_range` (the message says so when the number reads as epoch
 * seconds), later is `timestamp_in_future`.
 */
export function checkEventTime(ms: number, now: Date): { ok: true; eventTime: Date } | Invalid {
  const latestMs = now.getTime() + MAX_FUTURE_MS;
  if (ms > latestMs) {
    return invalid('timestamp_in_future', `timestamp ${describe(ms)} is more than 24 h after ingest time ${now.toISOString()}`);
  }
  if (ms < MIN_EVENT_TIME_MS) {
    const seconds = ms * 1000 >= MIN_EVENT_TIME_MS && ms * 1000 <= latestMs;
    return invalid(
      'timestamp_out_of_range',
      `timestamp ${describe(ms)} is before 2000-01-01T00:00:00Z` +
        (seconds ? `; ${ms} looks like epoch seconds: send epoch milliseconds (${ms * 1000})` : ''),
    );
  }
  return { ok: true, eventTime: new Date(ms) };
}

function describe(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} (epoch ms)` : date.toISOString();
}
