import cassandra from 'cassandra-driver';
import type { EnrichedClick } from '@clickstream/events';
import { HOUR_MS, hourStartMs } from '@clickstream/metrics';
import type { MetricEvent } from '@clickstream/metrics';
import type { CassandraClient } from './cassandra-client.ts';
import { withClassifiedErrors } from './errors.ts';
import { pagedRows } from './paged-rows.ts';
import { EVENT_BUCKETS } from './schema.ts';

export interface EventsRepository {
  /**
   * Writes events with at most `concurrency` requests in flight; resolves once every row is
   * acknowledged (LOCAL_QUORUM). Idempotent: writing an event again overwrites its own row.
   * Throws CassandraUnavailableError on transient failures (the caller retries the whole call).
   */
  writeEvents(events: readonly EnrichedClick[]): Promise<void>;
  /**
   * Every stored event with `fromMs <= event_time < toMs`, read hour partition by hour partition,
   * page by page. `keepUser` keeps only some users' events (the others are dropped as their page
   * arrives, so memory holds the kept ones); past `maxEvents` kept events, rejects with
   * {@link TooManyEventsError} instead of growing further.
   */
  readEvents(fromMs: number, toMs: number, read?: { keepUser?: (userId: string) => boolean; maxEvents?: number }): Promise<MetricEvent[]>;
}

/** A read would keep more events in memory than allowed: read fewer (e.g. a slice of the users) at a time. */
export class TooManyEventsError extends Error {
  override readonly name = 'TooManyEventsError';
  readonly code = 'too_many_events';
  readonly retriable = false;
  readonly maxEvents: number;
  constructor(maxEvents: number) {
    super(`more than ${maxEvents} events to hold at once`);
    this.maxEvents = maxEvents;
  }
}

/** FNV-1a (32 bit) of the event id: a stable bucket in 0..EVENT_BUCKETS-1. */
export function eventBucket(eventId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(eventId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % EVENT_BUCKETS;
}

export function createEventsRepository(client: CassandraClient, options: { concurrency: number }): EventsRepository {
  const ks = client.keyspace;
  const insert = `INSERT INTO ${ks}.events (event_hour, bucket, event_time, event_id, user_id, session_id, url, url_key, referrer, ip, user_agent,
    country, region, city, browser, browser_version, os, os_version, device_type, is_bot, time_spent_ms, ingested_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  const select = `SELECT event_id, user_id, session_id, event_time, url_key, country, time_spent_ms, is_bot FROM ${ks}.events
    WHERE event_hour = ? AND bucket = ? AND event_time >= ? AND event_time < ?`;

  return {
    async writeEvents(events) {
      if (events.length === 0) return;
      // A null bound value writes a tombstone; `unset` writes nothing, so optional fields cost no
      // tombstones for the aggregator's hour reads to skip.
      const params = events.map((e) =>
        [
          new Date(hourStartMs(e.eventTime.getTime())),
          eventBucket(e.eventId),
          e.eventTime,
          e.eventId,
          e.userId,
          e.sessionId,
          e.url,
          e.urlKey,
          e.referrer,
          e.ip,
          e.userAgent,
          e.country,
          e.region,
          e.city,
          e.browser,
          e.browserVersion,
          e.os,
          e.osVersion,
          e.deviceType,
          e.isBot,
          e.timeSpentMs,
          e.ingestedAt,
        ].map((value) => value ?? cassandra.types.unset),
      );
      await withClassifiedErrors(() =>
        cassandra.concurrent.executeConcurrent(client.driver, insert, params, {
          concurrencyLevel: options.concurrency,
          raiseOnFirstError: true,
        }),
      );
    },

    async readEvents(fromMs, toMs, read = {}) {
      const queries: Promise<MetricEvent[]>[] = [];
      let kept = 0;
      for (let hour = hourStartMs(fromMs); hour < toMs; hour += HOUR_MS) {
        for (let bucket = 0; bucket < EVENT_BUCKETS; bucket++) {
          queries.push(
            withClassifiedErrors(async () => {
              const rows: MetricEvent[] = [];
              const params = [new Date(hour), bucket, new Date(fromMs), new Date(toMs)];
              for await (const r of pagedRows(client, select, params)) {
                const userId = r.get('user_id') as string;
                if (read.keepUser !== undefined && !read.keepUser(userId)) continue;
                kept += 1;
                if (read.maxEvents !== undefined && kept > read.maxEvents) throw new TooManyEventsError(read.maxEvents);
                rows.push({
                  eventId: r.get('event_id') as string,
                  userId,
                  sessionId: (r.get('session_id') as string | null) ?? null,
                  eventTimeMs: (r.get('event_time') as Date).getTime(),
                  urlKey: r.get('url_key') as string,
                  country: r.get('country') as string,
                  timeSpentMs: (r.get('time_spent_ms') as number | null) ?? null,
                  isBot: r.get('is_bot') === true,
                });
              }
              return rows;
            }),
          );
        }
      }
      return (await Promise.all(queries)).flat();
    },
  };
}
