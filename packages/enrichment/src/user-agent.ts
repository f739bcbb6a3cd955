import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import UAParser from 'ua-parser-js';

/** What a user agent string says about the client; null parts are unknown. */
export interface UserAgentDetails {
  readonly browser: string | null;
  readonly browserVersion: string | null;
  readonly os: string | null;
  readonly osVersion: string | null;
  /** ua-parser-js's device type (`mobile`, `tablet`, `smarttv`, ...), `desktop` when it has none. */
  readonly deviceType: string;
  readonly isBot: boolean;
}

export interface UserAgentParser {
  parse(userAgent: string): UserAgentDetails;
}

/** Parses a user agent with ua-parser-js and isbot, uncached; pure. */
export function parseUserAgent(userAgent: string): UserAgentDetails {
  const { browser, os, device } = new UAParser(userAgent).getResult();
  return {
    browser: browser.name ?? null,
    browserVersion: browser.version ?? null,
    os: os.name ?? null,
    osVersion: os.version ?? null,
    deviceType: device.type ?? 'desktop',
    isBot: isbot(userAgent),
  };
}

/**
 * A user-agent parser that keeps the `cacheSize` most recently used results (LRU), since a
 * stream repeats few distinct user agents. `parse` defaults to `parseUserAgent`; results are
 * shared between callers and must not be mutated.
 */
export function createUserAgentParser(options: { cacheSize: number; parse?: (userAgent: string) => UserAgentDetails }): UserAgentParser {
  const { cacheSize, parse = parseUserAgent } = options;
  const cache = new LRUCache<string, UserAgentDetails>({ max: cacheSize, memoMethod: (userAgent) => parse(userAgent) });
  return { parse: (userAgent) => cache.memo(userAgent) };
}
