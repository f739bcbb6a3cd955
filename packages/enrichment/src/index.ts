export { createEnricher, type Enricher } from './enrich-event.ts';
export { createGeoLookup, geoDatabaseDate, type GeoLocation, type GeoLookup } from './geo-lookup.ts';
export { applyIpPolicy, IP_POLICIES, type IpPolicy } from './ip-policy.ts';
export { createUserAgentParser, parseUserAgent, type UserAgentDetails, type UserAgentParser } from './user-agent.ts';
