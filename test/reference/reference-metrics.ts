/**
 * Reference computation of the metric documents, written straight from shared/spec/metrics.md for
 * the end-to-end tests. Deliberately simple and slow, and independent of the production code:
 * it imports nothing from packages/ and uses no shortcut the spec does not spell out.
 */
import { Buffer } from 'node:buffer';

/** One stored event, as enriched by ingest (url_key, country, is_bot). */
export interface ReferenceEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly sessionId: string | null;
  /** Event time, epoch ms (UTC). */
  readonly eventTimeMs: number;
  readonly urlKey: string;
  readonly country: string;
  /** `time_spent_ms` the event carried, or null. */
  readonly timeSpentMs: number | null;
  readonly isBot: boolean;
}

export type ReferenceGranularity = 'hour' | 'day' | 'all';

/** The numbers one Elasticsearch metric document must hold. */
export interface ReferenceDocument {
  readonly granularity: ReferenceGranularity;
  /** Window start, epoch ms; null for `all`. */
  readonly windowStartMs: number | null;
  /** The url_key. */
  readonly url: string;
  readonly country: string;
  readonly clicks: number;
  /** Exact distinct users (for `all` the production value may be an estimate; see metrics.md). */
  readonly uniqueUsers: number;
  readonly timeSpentSumMs: number;
  readonly timeSpentSamples: number;
  readonly avgTimeSpentMs: number | null;
}

/** metrics.md: a gap counts as time spent when it is at most 30 minutes. */
const MAX_GAP_MS = 30 * 60 * 1000;

/**
 * A string identifying the document of (granularity, window start, url, country); equal inputs give
 * equal strings and different inputs different strings, so it can key maps on both sides of a
 * comparison.
 */
export function referenceKey(granularity: ReferenceGranularity, windowStartMs: number | null, url: string, country: string): string {
  return JSON.stringify([granularity, windowStartMs, url, country]);
}

/**
 * Counted events: one copy per event id, bots left out. Copies of one id must be identical
 * (a replay re-sends the same event); anything else means the input is wrong, so this throws.
 */
export function referenceCountedEvents(events: readonly ReferenceEvent[]): ReferenceEvent[] {
  const byId = new Map<string, ReferenceEvent>();
  for (const event of events) {
    const earlier = byId.get(event.eventId);
    if (earlier === undefined) {
      byId.set(event.eventId, event);
    } else if (JSON.stringify(sameFieldOrder(earlier)) !== JSON.stringify(sameFieldOrder(event))) {
      throw new Error(`reference metrics: event ${event.eventId} appears twice with different fields`);
    }
  }
  return [...byId.values()].filter((event) => !event.isBot);
}

/**
 * Time spent of every counted event, by event id (null = unknown), per metrics.md:
 * the carried `time_spent_ms`; else the gap to the same user's next counted event in
 * (event time, event id) order when the gap is at most 30 minutes and, if both carry a session id,
 * the session ids are equal; else unknown.
 */
export function referenceTimeSpent(events: readonly ReferenceEvent[]): Map<string, number | null> {
  const counted = referenceCountedEvents(events);
  const result = new Map<string, number | null>();
  const byUser = new Map<string, ReferenceEvent[]>();
  for (const event of counted) {
    const mine = byUser.get(event.userId) ?? [];
    mine.push(event);
    byUser.set(event.userId, mine);
  }
  for (const mine of byUser.values()) {
    mine.sort(byTimeThenId);
    for (let i = 0; i < mine.length; i += 1) {
      const event = mine[i] as ReferenceEvent;
      const next = mine[i + 1];
      if (event.timeSpentMs !== null) {
        result.set(event.eventId, event.timeSpentMs);
        continue;
      }
      if (next === undefined) {
        result.set(event.eventId, null);
        continue;
      }
      const gapMs = next.eventTimeMs - event.eventTimeMs;
      const bothHaveSessions = event.sessionId !== null && next.sessionId !== null;
      const sameSession = !bothHaveSessions || event.sessionId === next.sessionId;
      result.set(event.eventId, gapMs <= MAX_GAP_MS && sameSession ? gapMs : null);
    }
  }
  return result;
}

/**
 * Every metric document: one per (window, url_key, country) with at least one counted event, for
 * hour, day and all-time windows (UTC), in a stable order (granularity, window start, url, country).
 */
export function computeReferenceMetrics(events: readonly ReferenceEvent[]): ReferenceDocument[] {
  const counted = referenceCountedEvents(events);
  const timeSpent = referenceTimeSpent(events);

  interface Group {
    granularity: ReferenceGranularity;
    windowStartMs: number | null;
    url: string;
    country: string;
    clicks: number;
    users: Set<string>;
    timeSpentSumMs: number;
    timeSpentSamples: number;
  }
  const groups = new Map<string, Group>();
  for (const event of counted) {
    const windows: [ReferenceGranularity, number | null][] = [
      ['hour', hourStartMs(event.eventTimeMs)],
      ['day', dayStartMs(event.eventTimeMs)],
      ['all', null],
    ];
    for (const [granularity, windowStartMs] of windows) {
      const key = referenceKey(granularity, windowStartMs, event.urlKey, event.country);
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          granularity,
          windowStartMs,
          url: event.urlKey,
          country: event.country,
          clicks: 0,
          users: new Set(),
          timeSpentSumMs: 0,
          timeSpentSamples: 0,
        };
        groups.set(key, group);
      }
      group.clicks += 1;
      group.users.add(event.userId);
      // The time spent belongs to the event's own window, wherever the next event lies.
      const spent = timeSpent.get(event.eventId);
      if (spent !== null && spent !== undefined) {
        group.timeSpentSumMs += spent;
        group.timeSpentSamples += 1;
      }
    }
  }

  const documents: ReferenceDocument[] = [...groups.values()].map((group) => ({
    granularity: group.granularity,
    windowStartMs: group.windowStartMs,
    url: group.url,
    country: group.country,
    clicks: group.clicks,
    uniqueUsers: group.users.size,
    timeSpentSumMs: group.timeSpentSumMs,
    timeSpentSamples: group.timeSpentSamples,
    avgTimeSpentMs: group.timeSpentSamples === 0 ? null : group.timeSpentSumMs / group.timeSpentSamples,
  }));
  const granularityOrder: ReferenceGranularity[] = ['hour', 'day', 'all'];
  documents.sort(
    (a, b) =>
      granularityOrder.indexOf(a.granularity) - granularityOrder.indexOf(b.granularity) ||
      (a.windowStartMs ?? 0) - (b.windowStartMs ?? 0) ||
      compareUtf8(a.url, b.url) ||
      compareUtf8(a.country, b.country),
  );
  return documents;
}

/** Start of the UTC hour containing the instant, from the calendar fields. */
function hourStartMs(timeMs: number): number {
  const d = new Date(timeMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours());
}

/** Start of the UTC day containing the instant, from the calendar fields. */
function dayStartMs(timeMs: number): number {
  const d = new Date(timeMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function byTimeThenId(a: ReferenceEvent, b: ReferenceEvent): number {
  return a.eventTimeMs - b.eventTimeMs || compareUtf8(a.eventId, b.eventId);
}

/** Byte order of the UTF-8 encodings, which is Unicode code point order. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sameFieldOrder(event: ReferenceEvent): unknown[] {
  return [event.eventId, event.userId, event.sessionId, event.eventTimeMs, event.urlKey, event.country, event.timeSpentMs, event.isBot];
}
