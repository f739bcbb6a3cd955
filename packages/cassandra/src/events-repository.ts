import cassandra from 'cassandra-driver';
import type { EnrichedClick } from '@clickstream/events';
import { HOUR_MS, eventWeight, hourStartMs } from '@clickstream/metrics';
import type { MetricEvent } from '@clickstream/metrics';
import type { CassandraClient } from './cassandra-client.ts';
import pLimit from 'p-limit';
import { isContentRejection, isTransientCassandraError, unavailableError, withClassifiedErrors } from './errors.ts';
import type { CassandraUnavailableError } from './errors.ts';
import { pagedRows } from './paged-rows.ts';
import { EVENT_BUCKETS } from './schema.ts';

/** A row Cassandra refused for what it carries; `message` is the server's or driver's reason. */
export interface RejectedEvent {
  event: EnrichedClick;
  message: string;
}

/** What one `writeEvents` call achieved; every row given is in exactly one of: stored, `rejected`, `unwritten`. */
export interface WriteEventsOutcome {
  /** Rows refused for their content (never worth retrying): they belong on the dead-letter topic. */
  rejected: RejectedEvent[];
  /** Rows not written because of a transient failure: write them again (idempotent). */
  unwritten: EnrichedClick[];
  /** The transient failure behind `unwritten`, when there is one. */
  failure?: CassandraUnavailableError;
}

export interface EventsRepository {
  /**
   * Writes events as unlogged single-partition batches (rows grouped by `(event_hour, bucket)`,
   * each batch at most `maxBatchBytes` of values and `maxBatchRows` rows), with at most
   * `concurrency` statements in flight over all calls of this repository. Statements are
   * idempotent (a replayed event overwrites its own row), so the driver may try another host.
   * Two versions of one row (event time and id) in one call: the later one given is stored, and
   * the earlier one counts as stored, rejected or unwritten with it.
   * Resolves once every row is acknowledged (LOCAL_QUORUM), refused for its content or left
   * unwritten by a transient failure (see {@link WriteEventsOutcome}); rejects only for failures
   * that are neither (schema missing, authentication): those are bugs or misconfiguration.
   */
  writeEvents(events: readonly EnrichedClick[]): Promise<WriteEventsOutcome>;
  /**
   * Every stored event with `fromMs <= event_time < toMs`, read hour partition by hour partition,
   * page by page. `keepUser` keeps only some users' events (the others are dropped as their page
   * arrives, so memory holds the kept ones; it is told each event's {@link eventWeight}); past
   * kept events of `maxEvents` weight in all (usually one each; more for long strings), rejects
   * with {@link TooManyEventsError} instead of growing further.
   */
  readEvents(
    fromMs: number,
    toMs: number,
    read?: { keepUser?: (userId: string, weight: number) => boolean; maxEvents?: number },
  ): Promise<MetricEvent[]>;
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

/**
 * FNV-1a (32 bit) of the event id's UTF-8 bytes: a stable bucket in 0..EVENT_BUCKETS-1. The bucket
 * is part of the events table's partition key, so it must never change: a replay of a stored event
 * would land in another partition and be stored twice. (It differs from `fnv1a32` of the metrics
 * package, over UTF-16 code units, for non-ASCII ids; unifying the two would move stored rows.)
 */
export function eventBucket(eventId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(eventId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % EVENT_BUCKETS;
}

/** Bytes a row's values take on the wire, roughly: what Cassandra's batch size warning counts. */
function estimatedRowBytes(values: readonly unknown[]): number {
  let bytes = 64;
  for (const value of values) bytes += typeof value === 'string' ? Buffer.byteLength(value, 'utf8') + 4 : 12;
  return bytes;
}

/**
 * Splits rows into single-partition chunks in order: one chunk per partition key until it would
 * exceed `maxBytes` or `maxRows` (a row larger than `maxBytes` is a chunk of its own).
 */
export function chunkByPartition<T>(
  rows: readonly T[],
  partitionKey: (row: T) => string,
  rowBytes: (row: T) => number,
  limits: { maxBytes: number; maxRows: number },
): T[][] {
  const open = new Map<string, { rows: T[]; bytes: number }>();
  const chunks: T[][] = [];
  for (const row of rows) {
    const key = partitionKey(row);
    const bytes = rowBytes(row);
    let chunk = open.get(key);
    if (chunk && (chunk.bytes + bytes > limits.maxBytes || chunk.rows.length >= limits.maxRows)) {
      chunks.push(chunk.rows);
      chunk = undefined;
    }
    if (!chunk) {
      chunk = { rows: [], bytes: 0 };
      open.set(key, chunk);
    }
    chunk.rows.push(row);
    chunk.bytes += bytes;
  }
  for (const chunk of open.values()) chunks.push(chunk.rows);
  return chunks;
}

/**
 * The last of the given rows for each key, in their order, and each earlier row with the last of
 * its key (which supersedes it). Pure.
 */
export function lastPerKey<T>(rows: readonly T[], keyOf: (row: T) => string): { last: T[]; superseded: { row: T; by: T }[] } {
  const keys = rows.map(keyOf);
  const lastOf = new Map<string, T>();
  rows.forEach((row, i) => lastOf.set(keys[i] ?? '', row));
  const last: T[] = [];
  const superseded: { row: T; by: T }[] = [];
  rows.forEach((row, i) => {
    const by = lastOf.get(keys[i] ?? '') ?? row;
    if (by === row) last.push(row);
    else superseded.push({ row, by });
  });
  return { last, superseded };
}

interface BoundRow {
  event: EnrichedClick;
  statement: { query: string; params: unknown[] };
  key: string;
  bytes: number;
}

/** The longest TTL Cassandra takes (20 years). */
const MAX_TTL_SECONDS = 630_720_000;

/**
 * @param options.eventsTtlSeconds the `events` table's TTL (the retention; 0: none), see
 *   {@link watchEventsTtl}. A row dated ahead of its ingestion is written with that TTL plus how far
 *   ahead it is, so it lives the retention past its own time, as every other row does: the table's
 *   TTL alone counts from the write, and such a row would expire before its hour leaves the
 *   retention (a recompute of the hour in between would lose it).
 */
export function createEventsRepository(
  client: CassandraClient,
  options: { concurrency: number; maxBatchBytes?: number; maxBatchRows?: number; eventsTtlSeconds?: () => number },
): EventsRepository {
  const ks = client.keyspace;
  const insert = `INSERT INTO ${ks}.events (event_hour, bucket, event_time, event_id, user_id, session_id, url, url_key, referrer, ip, user_agent,
    country, region, city, browser, browser_version, os, os_version, device_type, is_bot, time_spent_ms, ingested_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  const insertWithTtl = `${insert} USING TTL ?`;
  /** The TTL of a row dated ahead of its ingestion, or undefined for the table's own. */
  const extendedTtl = (e: EnrichedClick): number | undefined => {
    const ttl = options.eventsTtlSeconds?.() ?? 0;
    const aheadMs = e.eventTime.getTime() - e.ingestedAt.getTime();
    return ttl > 0 && aheadMs > 0 ? Math.min(MAX_TTL_SECONDS, ttl + Math.ceil(aheadMs / 1_000)) : undefined;
  };
  const select = `SELECT event_id, user_id, session_id, event_time, url_key, country, time_spent_ms, is_bot FROM ${ks}.events
    WHERE event_hour = ? AND bucket = ? AND event_time >= ? AND event_time < ?`;
  const limits = { maxBytes: options.maxBatchBytes ?? 32_768, maxRows: options.maxBatchRows ?? 100 };
  const limit = pLimit(options.concurrency);
  const writeOptions = { prepare: true, isIdempotent: true } as const;

  const bind = (e: EnrichedClick): BoundRow => {
    const hourMs = hourStartMs(e.eventTime.getTime());
    const bucket = eventBucket(e.eventId);
    // A null bound value writes a tombstone; `unset` writes nothing, so optional fields cost no
    // tombstones for the aggregator's hour reads to skip.
    const params = [
      new Date(hourMs),
      bucket,
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
    ].map((value) => value ?? cassandra.types.unset);
    const ttl = extendedTtl(e);
    const statement = ttl === undefined ? { query: insert, params } : { query: insertWithTtl, params: [...params, ttl] };
    return { event: e, statement, key: `${hourMs}/${bucket}`, bytes: estimatedRowBytes(params) };
  };

  /** One statement: a single row, or an unlogged batch of rows of one partition. */
  const execute = (rows: readonly BoundRow[]): Promise<unknown> =>
    limit(() =>
      rows.length === 1 && rows[0] !== undefined
        ? client.driver.execute(rows[0].statement.query, rows[0].statement.params, writeOptions)
        : client.driver.batch(
            rows.map((r) => r.statement),
            { ...writeOptions, logged: false },
          ),
    );

  return {
    async writeEvents(events) {
      const outcome: WriteEventsOutcome = { rejected: [], unwritten: [] };
      const fatal: unknown[] = [];
      const settle = (rows: readonly BoundRow[], err: unknown): boolean => {
        if (isTransientCassandraError(err)) {
          outcome.unwritten.push(...rows.map((r) => r.event));
          outcome.failure ??= unavailableError(err);
          return true;
        }
        if (isContentRejection(err) && rows.length === 1 && rows[0]) {
          outcome.rejected.push({ event: rows[0].event, message: err instanceof Error ? err.message : String(err) });
          return true;
        }
        return false;
      };
      const bound: BoundRow[] = [];
      for (const event of events) {
        try {
          bound.push(bind(event));
        } catch (err) {
          if (!settle([{ event, statement: { query: insert, params: [] }, key: '', bytes: 0 }], err)) throw err;
        }
      }
      // Two versions of one row (an event id re-sent with other content) written in one batch share
      // its write time, and Cassandra keeps the greater value of each column: a row no message
      // carried. The last version given is written alone; an earlier one shares its outcome.
      const { last, superseded } = lastPerKey(bound, (r) => `${r.key}/${r.event.eventTime.getTime()}/${r.event.eventId}`);
      const chunks = chunkByPartition(
        last,
        (r) => r.key,
        (r) => r.bytes,
        limits,
      );
      await Promise.all(
        chunks.map(async (chunk) => {
          try {
            await execute(chunk);
          } catch (err) {
            if (settle(chunk, err)) return;
            if (!isContentRejection(err)) return void fatal.push(err);
            // One row spoils the batch (or the batch is too large): find out row by row.
            await Promise.all(
              chunk.map(async (row) => {
                try {
                  await execute([row]);
                } catch (rowErr) {
                  if (!settle([row], rowErr)) fatal.push(rowErr);
                }
              }),
            );
          }
        }),
      );
      if (fatal.length > 0) throw fatal[0];
      if (superseded.length > 0) {
        const unwritten = new Set(outcome.unwritten);
        const rejected = new Map(outcome.rejected.map((r) => [r.event, r.message]));
        for (const { row, by } of superseded) {
          const message = rejected.get(by.event);
          if (message !== undefined) outcome.rejected.push({ event: row.event, message });
          else if (unwritten.has(by.event)) unwritten.add(row.event);
        }
        // In the order given: writing these again (a retry) must store the last version again, not an earlier one.
        outcome.unwritten = events.filter((event) => unwritten.has(event));
      }
      return outcome;
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
                const event: MetricEvent = {
                  eventId: r.get('event_id') as string,
                  userId: r.get('user_id') as string,
                  sessionId: (r.get('session_id') as string | null) ?? null,
                  eventTimeMs: (r.get('event_time') as Date).getTime(),
                  urlKey: r.get('url_key') as string,
                  country: r.get('country') as string,
                  timeSpentMs: (r.get('time_spent_ms') as number | null) ?? null,
                  isBot: r.get('is_bot') === true,
                };
                const weight = eventWeight(event);
                if (read.keepUser !== undefined && !read.keepUser(event.userId, weight)) continue;
                kept += weight;
                if (read.maxEvents !== undefined && kept > read.maxEvents) throw new TooManyEventsError(read.maxEvents);
                rows.push(event);
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
