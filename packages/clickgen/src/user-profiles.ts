import { COUNTRY_NETWORKS } from './ip-networks.ts';
import { createRandom, createWeightedPicker } from './random.ts';
import type { Random } from './random.ts';
import { BROWSER_AGENTS, CRAWLER_AGENTS } from './user-agents.ts';

/** How a user's client writes `timestamp`. */
export type TimestampStyle = 'iso' | 'epoch' | 'iso-offset' | 'zoneless';

/** What stays the same across one user's visits. */
export interface UserProfile {
  readonly userId: string;
  readonly isBot: boolean;
  readonly userAgent: string | null;
  /** Mobile clients change address within their carrier's network between visits. */
  readonly mobile: boolean;
  /** Networks the user's addresses come from (first three octets). */
  readonly prefixes: readonly string[];
  /** Host octet of the fixed (non-mobile) address. */
  readonly hostOctet: number;
  /** Upper-case alpha-2 country of `prefixes`, or of `preEnrichedCountry`. */
  readonly country: string;
  /** When set, events carry this `country` (as written, maybe lower case) and no `ip`. */
  readonly preEnrichedCountry: string | null;
  readonly sendsSessionId: boolean;
  readonly timestampStyle: TimestampStyle;
  /** Local offset written by the `iso-offset` style. */
  readonly utcOffsetMinutes: number;
}

/** Seed stream ids, so each use of the seed draws an independent sequence. */
export const STREAM_HUMANS = 11;
export const STREAM_CRAWLERS = 12;

/** Number of crawler identities; bot traffic is spread over them. */
export const CRAWLER_COUNT = 8;

const browserPicker = createWeightedPicker(BROWSER_AGENTS.map((a) => a.weight));
const crawlerPicker = createWeightedPicker(CRAWLER_AGENTS.map((a) => a.weight));
const countryPicker = createWeightedPicker(COUNTRY_NETWORKS.map((c) => c.weight));
const OFFSETS_MINUTES = [-300, -240, 0, 60, 120, 330, 540];

/** The profile of human user `index` (0-based), a pure function of (seed, index). */
export function humanProfile(seed: number, index: number): UserProfile {
  const random = createRandom(seed, STREAM_HUMANS, index);
  const agent = BROWSER_AGENTS[browserPicker.pick(random)];
  const network = pickNetwork(random);
  const preEnriched = random.chance(0.03);
  return {
    userId: `user-${seed}-${index}`,
    isBot: false,
    // A few clients strip the header.
    userAgent: random.chance(0.01) ? null : (agent?.userAgent ?? null),
    mobile: agent?.device === 'mobile',
    prefixes: [random.pick(network.prefixes)],
    hostOctet: random.int(1, 254),
    country: network.country,
    preEnrichedCountry: preEnriched ? (random.chance(0.3) ? network.country.toLowerCase() : network.country) : null,
    sendsSessionId: random.chance(0.95),
    timestampStyle: pickTimestampStyle(random),
    utcOffsetMinutes: random.pick(OFFSETS_MINUTES),
  };
}

/** The profile of crawler identity `index` in [0, CRAWLER_COUNT). */
export function crawlerProfile(seed: number, index: number): UserProfile {
  const random = createRandom(seed, STREAM_CRAWLERS, index);
  const agent = CRAWLER_AGENTS[crawlerPicker.pick(random)];
  if (agent === undefined) throw new RangeError('no crawler agent');
  // Scripts (curl, python) run from ordinary networks; search engines from their own.
  const network = agent.prefixes === null ? pickNetwork(random) : { country: 'US', prefixes: agent.prefixes };
  return {
    userId: `crawler-${seed}-${index}`,
    isBot: true,
    userAgent: agent.userAgent,
    mobile: false,
    prefixes: network.prefixes,
    hostOctet: random.int(1, 254),
    country: network.country,
    preEnrichedCountry: null,
    sendsSessionId: false,
    timestampStyle: random.chance(0.5) ? 'iso' : 'epoch',
    utcOffsetMinutes: 0,
  };
}

/** The address of one visit: fixed for desktop clients, changing for mobile ones and crawlers. */
export function visitIp(profile: UserProfile, random: Random): string | null {
  if (profile.preEnrichedCountry !== null) return null;
  const prefix = random.pick(profile.prefixes);
  const host = profile.mobile || profile.isBot ? random.int(1, 254) : profile.hostOctet;
  return `${prefix}.${host}`;
}

function pickNetwork(random: Random): { country: string; prefixes: readonly string[] } {
  const network = COUNTRY_NETWORKS[countryPicker.pick(random)];
  if (network === undefined) throw new RangeError('no country network');
  return network;
}

function pickTimestampStyle(random: Random): TimestampStyle {
  const u = random.next();
  if (u < 0.55) return 'iso';
  if (u < 0.88) return 'epoch';
  if (u < 0.94) return 'iso-offset';
  return 'zoneless';
}
