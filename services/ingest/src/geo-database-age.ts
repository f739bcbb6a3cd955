/** Older than this, the geo database counts as stale (GeoLite2 is released twice a week). */
export const GEO_DATABASE_MAX_AGE_MS = 183 * 24 * 3_600_000;

/**
 * What to log about the geo database at start: its release day and age, at `warn` when it is
 * older than six months or its date is unknown, with the way to refresh it.
 */
export function geoDatabaseNotice(
  released: Date | null,
  nowMs: number,
): { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string } {
  if (released === null)
    return { level: 'warn', fields: { geoDatabase: null }, msg: 'geo database release date unknown; npm run geoip:update refreshes it' };
  const ageDays = Math.floor((nowMs - released.getTime()) / (24 * 3_600_000));
  const fields = { geoDatabase: released.toISOString().slice(0, 10), geoDatabaseAgeDays: ageDays };
  return nowMs - released.getTime() > GEO_DATABASE_MAX_AGE_MS
    ? { level: 'warn', fields, msg: 'geo database older than 6 months: countries may be wrong; npm run geoip:update refreshes it' }
    : { level: 'info', fields, msg: 'geo database loaded' };
}
