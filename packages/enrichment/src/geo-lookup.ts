import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import geoip from 'geoip-lite';

/** Where an IP address is, as far as the database knows; null parts are unknown. */
export interface GeoLocation {
  /** ISO 3166-1 alpha-2. */
  country: string | null;
  region: string | null;
  city: string | null;
}

export interface GeoLookup {
  lookup(ip: string): GeoLocation | null;
}

/**
 * Geo lookup against geoip-lite's bundled database (loaded in memory when this module is first
 * imported). `lookup` is synchronous, does no I/O, and returns null for addresses the database
 * does not cover (private ranges, loopback, malformed input).
 */
export function createGeoLookup(): GeoLookup {
  return {
    lookup(ip) {
      const hit = geoip.lookup(ip);
      // geoip-lite reports unknown parts as empty strings.
      return hit === null ? null : { country: hit.country || null, region: hit.region || null, city: hit.city || null };
    },
  };
}

/**
 * The release date of the geo database geoip-lite loaded: the GeoLite2 release named in its
 * checksum files (`GeoLite2-City-CSV_20231115.zip`), which the package ships and
 * `npm run geoip:update` rewrites; the older of the city and country files. Null when unknown.
 * Reads `dataDir` (the GEODATADIR geoip-lite reads), else the package's own folder.
 */
export function geoDatabaseDate(dataDir: string | undefined): Date | null {
  const folder = dataDir ? resolve(dataDir) : join(dirname(createRequire(import.meta.url).resolve('geoip-lite/package.json')), 'data');
  const days = ['city.checksum', 'country.checksum'].map((file) => {
    let text: string;
    try {
      text = readFileSync(join(folder, file), 'utf8');
    } catch {
      return Number.NaN;
    }
    const match = /_(\d{4})(\d{2})(\d{2})\.zip\b/.exec(text);
    return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  });
  return days.some(Number.isNaN) ? null : new Date(Math.min(...days));
}
