import { createHash } from 'node:crypto';
import { assertCount, averageTimeSpentMs } from './window-aggregates.ts';
import type { Granularity } from './windows.ts';
import { windowEndMs } from './windows.ts';

/**
 * The Elasticsearch document of one (window, url, country), exactly as stored (snake_case, the
 * spec's mapping). Dates are ISO-8601 UTC strings with milliseconds; durations are milliseconds.
 */
export type MetricDocument = {
  readonly granularity: Granularity;
  /** Null for `all`. */
  readonly window_start: string | null;
  /** Exclusive end; null for `all`. */
  readonly window_end: string | null;
  /** The url_key. */
  readonly url: string;
  readonly country: string;
  readonly clicks: number;
  readonly unique_users: number;
  /** False when `unique_users` is a sketch estimate. */
  readonly unique_users_exact: boolean;
  readonly time_spent_sum_ms: number;
  readonly time_spent_samples: number;
  /** Null when `time_spent_samples` is 0. */
  readonly avg_time_spent_ms: number | null;
  readonly final: boolean;
  readonly updated_at: string;
};

/** What {@link buildMetricDocument} needs; times are epoch milliseconds. */
export type MetricDocumentInput = {
  readonly granularity: Granularity;
  /** Start of the UTC hour/day; null exactly for `all`. */
  readonly windowStartMs: number | null;
  readonly url: string;
  readonly country: string;
  readonly clicks: number;
  readonly uniqueUsers: number;
  readonly uniqueUsersExact: boolean;
  readonly timeSpentSumMs: number;
  readonly timeSpentSamples: number;
  /** Usually {@link isFinal}'s answer; never true for `all`. */
  readonly final: boolean;
  readonly updatedAtMs: number;
};

/**
 * Builds the stored document of one group, deriving `window_end` from the granularity and
 * `avg_time_spent_ms` from the sum and samples (null when there are none).
 *
 * @throws RangeError when the window start does not fit the granularity (null exactly for `all`,
 *   otherwise a UTC hour/day start), an `all` document is marked final, a count is not a
 *   non-negative safe integer, or `updatedAtMs` is not a valid date.
 */
export function buildMetricDocument(input: MetricDocumentInput): MetricDocument {
  const endMs = windowEndMs(input.granularity, input.windowStartMs);
  if (input.granularity === 'all' && input.final) {
    throw new RangeError("An 'all' window is never final");
  }
  return {
    granularity: input.granularity,
    window_start: input.windowStartMs === null ? null : toIsoUtc(input.windowStartMs),
    window_end: endMs === null ? null : toIsoUtc(endMs),
    url: input.url,
    country: input.country,
    clicks: assertCount('clicks', input.clicks),
    unique_users: assertCount('uniqueUsers', input.uniqueUsers),
    unique_users_exact: input.uniqueUsersExact,
    time_spent_sum_ms: assertCount('timeSpentSumMs', input.timeSpentSumMs),
    time_spent_samples: assertCount('timeSpentSamples', input.timeSpentSamples),
    avg_time_spent_ms: averageTimeSpentMs(input.timeSpentSumMs, input.timeSpentSamples),
    final: input.final,
    updated_at: toIsoUtc(input.updatedAtMs),
  };
}

/**
 * The document `_id` of a (granularity, window start, url, country): the hex SHA-256 (64 ASCII
 * characters, whatever the url length) of a JSON array of the tuple, so that re-indexing a
 * group overwrites its document. Distinct tuples give distinct ids (JSON keeps the fields apart
 * and a null start apart from any time); the same tuple always gives the same id.
 *
 * @param windowStartMs epoch milliseconds of the window start; null exactly for `all`.
 * @throws RangeError when the window start does not fit the granularity.
 */
export function metricDocumentId(granularity: Granularity, windowStartMs: number | null, url: string, country: string): string {
  windowEndMs(granularity, windowStartMs);
  const tuple = JSON.stringify([granularity, windowStartMs, url, country]);
  return createHash('sha256').update(tuple, 'utf8').digest('hex');
}

/** The times formatted last, with their text: a window's documents share their start, end and update time. */
const recentIsoTexts = new Map<number, string>();
const RECENT_ISO_TEXTS = 16;

function toIsoUtc(timeMs: number): string {
  const known = recentIsoTexts.get(timeMs);
  if (known !== undefined) return known;
  const date = new Date(timeMs);
  if (Number.isNaN(date.getTime())) {
    throw new RangeError(`${timeMs} is not a valid epoch time in ms`);
  }
  const text = date.toISOString();
  if (recentIsoTexts.size >= RECENT_ISO_TEXTS) recentIsoTexts.clear();
  recentIsoTexts.set(timeMs, text);
  return text;
}
