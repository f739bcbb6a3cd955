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
