import type { ClickEvent, EnrichedClick } from '@clickstream/events';
import type { GeoLookup } from './geo-lookup.ts';
import { applyIpPolicy, lookupAddress, type IpPolicy } from './ip-policy.ts';
import type { UserAgentParser } from './user-agent.ts';

/** ISO 3166-1 user-assigned code the contract uses for an unknown country. */
const UNKNOWN_COUNTRY = 'ZZ';

export type Enricher = (event: ClickEvent, ingestedAt: Date) => EnrichedClick;

/**
 * Creates the enrich step: turns a validated event into the stored row. Pure given its
 * dependencies, never throws for event data.
 *
 * Pre-enriched values in the event win, field by field, over the geo lookup (from the full IP)
 * and the user-agent parse. A looked-up part that belongs to a contradicted value is dropped:
 * region and city need the lookup's country to match a pre-enriched country, a version needs the
 * parsed browser (os) to match a pre-enriched one. Country falls back to `ZZ` (the event's
 * country arrives upper-cased from `decodeClickMessage`, geoip-lite's already is); region, city,
 * browser, os and versions fall back to null. `deviceType` is the event's `device`
 * (lower-cased), else the parsed type (`desktop` when the parser gives none), else null when
 * there is no user agent. `isBot` is false without a user agent. The stored IP is the event's
 * IP under `ipPolicy`; an IPv4-mapped IPv6 address is looked up (and truncated) as the IPv4
 * address it carries.
 */
export function createEnricher(dependencies: { geo: GeoLookup; userAgents: UserAgentParser; ipPolicy: IpPolicy }): Enricher {
  const { geo, userAgents, ipPolicy } = dependencies;
  return (event, ingestedAt) => {
    const { device, ...fields } = event;
    const location = event.ip === null ? null : geo.lookup(lookupAddress(event.ip));
    const agent = event.userAgent === null ? null : userAgents.parse(event.userAgent);
    // Looked-up parts are kept only where the lookup agrees with what the producer pre-enriched.
    const place = event.country === null || event.country === location?.country ? location : null;
    const browserVersion = event.browser === null || event.browser === agent?.browser ? agent?.browserVersion : null;
    const osVersion = event.os === null || event.os === agent?.os ? agent?.osVersion : null;
    return {
      ...fields,
      ip: event.ip === null ? null : applyIpPolicy(event.ip, ipPolicy),
      country: event.country ?? location?.country ?? UNKNOWN_COUNTRY,
      region: event.region ?? place?.region ?? null,
      city: event.city ?? place?.city ?? null,
      browser: event.browser ?? agent?.browser ?? null,
      browserVersion: browserVersion ?? null,
      os: event.os ?? agent?.os ?? null,
      osVersion: osVersion ?? null,
      deviceType: device?.toLowerCase() ?? agent?.deviceType ?? null,
      isBot: agent?.isBot ?? false,
      ingestedAt,
    };
  };
}
