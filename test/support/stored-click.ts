import type { EnrichedClick } from '@clickstream/events';

/** The facts of a click the metrics depend on; times are epoch ms. */
export interface ClickFacts {
  readonly eventId: string;
  readonly userId: string;
  readonly sessionId: string | null;
  readonly eventTimeMs: number;
  readonly urlKey: string;
  readonly country: string;
  readonly timeSpentMs: number | null;
  readonly isBot: boolean;
}

/** The row ingest would store for a click with these facts and no other enrichment (no IP, no user agent). */
export function storedClick(facts: ClickFacts): EnrichedClick {
  return {
    eventId: facts.eventId,
    userId: facts.userId,
    sessionId: facts.sessionId,
    eventTime: new Date(facts.eventTimeMs),
    url: facts.urlKey,
    urlKey: facts.urlKey,
    ip: null,
    userAgent: null,
    referrer: null,
    timeSpentMs: facts.timeSpentMs,
    country: facts.country,
    region: null,
    city: null,
    browser: null,
    browserVersion: null,
    os: null,
    osVersion: null,
    deviceType: null,
    isBot: facts.isBot,
    ingestedAt: new Date(),
  };
}
