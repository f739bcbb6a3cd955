// Date, then optional time with optional zone (Z, ±hh, ±hhmm, ±hh:mm); `T` or a space between.
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:Z|([+-])([01]\d|2[0-3]):?([0-5]\d)?)?)?$/i;

/**
 * The instant an event timestamp denotes, or null when it is not one.
 *
 * Accepts epoch milliseconds (a safe integer, or a string of digits, as in the CSV shape) and
 * ISO-8601 date-times: no zone means UTC, a space may replace `T`, a date alone is midnight
 * UTC, fractions beyond milliseconds are truncated. Impossible dates (Feb 30) are rejected.
 */
export function parseEventTime(value: string | number): Date | null {
  if (typeof value === 'number') return fromEpochMs(value);
  if (/^\d+$/.test(value)) return fromEpochMs(Number(value));
  const match = ISO_TIMESTAMP.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', sign, offsetHours = '00', offsetMinutes = '00'] =
    match;
  const wallClock = new Date(
    Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
      Number(fraction.slice(0, 3).padEnd(3, '0')),
    ),
  );
  // Date.UTC rolls over out-of-range parts (Feb 30 -> Mar 1); a changed date means it was invalid.
  if (!wallClock.toISOString().startsWith(`${year}-${month}-${day}T${hour}:${minute}:${second}`)) return null;
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return new Date(wallClock.getTime() - (sign === '-' ? -offsetMs : offsetMs));
}

function fromEpochMs(ms: number): Date | null {
  const date = new Date(ms);
  return Number.isSafeInteger(ms) && !Number.isNaN(date.getTime()) ? date : null;
}
