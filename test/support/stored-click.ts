import type { EnrichedClick } from '@clickstream/events';
import type { MetricEvent } from '@clickstream/metrics';

/** The row ingest would store for a click with these facts and no other enrichment (no IP, no user agent). */
export function storedClick(facts: MetricEvent): EnrichedClick {
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
