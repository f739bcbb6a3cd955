import { z } from 'zod';

/** One wrong query parameter and why. */
export interface ParamIssue {
  readonly param: string;
  readonly message: string;
}

export type ParamsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: ParamIssue[] };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The longest chart ranges, in windows: 92 days of hours, 10 years of days. */
export const MAX_WINDOWS = { hour: 92 * 24, day: 3_660 } as const;
/** Default chart ranges, in windows: the last 48 hours, the last 30 days. */
export const DEFAULT_WINDOWS = { hour: 48, day: 30 } as const;
/** Longest url_key accepted: a 2,048-character URL whose every character is a 4-byte one, percent-encoded to 12. */
export const MAX_URL_KEY_LENGTH = 24_576;
const MAX_COUNTRY_LENGTH = 64;
// C0 and C1 controls and DEL: never part of a url_key or a country, and unsafe to echo or log.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty (leave the parameter out instead)')
    .max(max, `at most ${max} characters`)
    // (URLSearchParams has already replaced lone surrogates and bad UTF-8 with U+FFFD.)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');

/** An instant: `YYYY-MM-DD` (UTC midnight) or an ISO-8601 date-time with `Z` or an offset; epoch ms out. */
const instant = z
  .string()
  .max(40, 'at most 40 characters')
  .refine(
    (value) => z.iso.date().safeParse(value).success || z.iso.datetime({ offset: true }).safeParse(value).success,
    'expected YYYY-MM-DD or an ISO-8601 date-time with Z or an offset, e.g. 2024-01-31T13:00:00Z',
  )
  .transform((value, ctx) => {
    const ms = Date.parse(value);
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a real date from 1970 on' });
      return z.NEVER;
    }
    return ms;
  });

const filterShape = {
  url: text(MAX_URL_KEY_LENGTH).optional().describe('only this page (its url_key, exactly as stored)'),
  country: text(MAX_COUNTRY_LENGTH).optional().describe('only this country (as stored, e.g. FR or ZZ for unknown)'),
};

const clicksSchema = z.strictObject({
  granularity: z.enum(['hour', 'day']).default('hour'),
  windows: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'a whole number of windows')
    .transform(Number)
    .pipe(z.number().int().min(1, 'at least 1'))
    .optional(),
  from: instant.optional(),
  to: instant.optional(),
  ...filterShape,
});

const topSchema = z.strictObject({
  by: z.enum(['url', 'country']),
  window: z.enum(['hour', 'day', 'all']).default('all'),
  at: instant.optional(),
  sort: z.enum(['clicks', 'unique_users', 'avg_time_spent_ms']).default('clicks'),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'a whole number from 1 to 100').max(100, 'a whole number from 1 to 100'))
    .default(10),
  ...filterShape,
});

const freshnessSchema = z.strictObject({ ...filterShape });

/** The filter every panel applies. */
export interface FilterParams {
  readonly url?: string | undefined;
  readonly country?: string | undefined;
}

/** `GET /api/clicks`: hour or day windows starting in [fromMs, toMs), aligned to window boundaries. */
export interface ClicksParams extends FilterParams {
  readonly granularity: 'hour' | 'day';
  readonly fromMs: number;
  readonly toMs: number;
}

/** `GET /api/top`: the window is the one containing `atMs`, or (undefined) the latest with data; `all` has none. */
export interface TopParams extends FilterParams {
  readonly by: 'url' | 'country';
  readonly window: 'hour' | 'day' | 'all';
  readonly atMs?: number | undefined;
  readonly sort: 'clicks' | 'unique_users' | 'avg_time_spent_ms';
  readonly limit: number;
}

/**
 * Parses `GET /api/clicks` parameters. `to` defaults to the end of the current window (so it is
 * included) and `from` to `windows` (default 48 hours or 30 days) before `to`; both are aligned
 * outwards to window boundaries. `windows` lets the page ask for "the last N" by this server's
 * clock rather than its visitor's. Refuses `windows` with `from`, and ranges that are empty or
 * longer than {@link MAX_WINDOWS}.
 */
export function parseClicksParams(search: URLSearchParams, nowMs: number): ParamsResult<ClicksParams> {
  const parsed = parseWith(clicksSchema, search);
  if (!parsed.ok) return parsed;
  const { granularity, windows, from, to, url, country } = parsed.value;
  if (windows !== undefined && from !== undefined) {
    return { ok: false, issues: [{ param: 'windows', message: 'give windows or from, not both' }] };
  }
  if (windows !== undefined && windows > MAX_WINDOWS[granularity]) {
    return { ok: false, issues: [{ param: 'windows', message: `at most ${MAX_WINDOWS[granularity]} ${granularity}s` }] };
  }
  const size = granularity === 'hour' ? HOUR_MS : DAY_MS;
  const toMs = Math.ceil((to ?? nowMs + 1) / size) * size;
  // The default start never runs before 1970, which an explicit one may not either.
  const fromMs = Math.floor((from ?? Math.max(0, toMs - (windows ?? DEFAULT_WINDOWS[granularity]) * size)) / size) * size;
  if (fromMs >= toMs) return { ok: false, issues: [{ param: 'from', message: 'must be before to' }] };
  const spanned = (toMs - fromMs) / size;
  if (spanned > MAX_WINDOWS[granularity]) {
    return {
      ok: false,
      issues: [{ param: 'from', message: `the range spans ${spanned} ${granularity}s; at most ${MAX_WINDOWS[granularity]}` }],
    };
  }
  return { ok: true, value: { granularity, fromMs, toMs, url, country } };
}

/** Parses `GET /api/top` parameters; `at` is refused with `window=all` (all time has one window). */
export function parseTopParams(search: URLSearchParams): ParamsResult<TopParams> {
  const parsed = parseWith(topSchema, search);
  if (!parsed.ok) return parsed;
  const { at, ...rest } = parsed.value;
  if (rest.window === 'all' && at !== undefined)
    return { ok: false, issues: [{ param: 'at', message: 'window=all has a single window: leave at out' }] };
  return { ok: true, value: { ...rest, atMs: at } };
}

/** Parses `GET /api/freshness` parameters (the filter only). */
export function parseFreshnessParams(search: URLSearchParams): ParamsResult<FilterParams> {
  return parseWith(freshnessSchema, search);
}

/**
 * The parameters of a raw query string (the text after `?`) whose name or value is not valid
 * percent-encoding of UTF-8 (a cut `%XX` sequence, `%ZZ`, bytes that are not UTF-8 such as an
 * encoded lone surrogate): URLSearchParams reads those as U+FFFD, which would filter by a url or
 * country nobody asked for.
 */
export function malformedQueryIssues(query: string): ParamIssue[] {
  const issues: ParamIssue[] = [];
  const decoded = (text: string): string | undefined => {
    try {
      return decodeURIComponent(text.replaceAll('+', ' '));
    } catch {
      return undefined;
    }
  };
  for (const part of query.split('&')) {
    const equals = part.indexOf('=');
    const name = decoded(equals === -1 ? part : part.slice(0, equals));
    const value = equals === -1 ? '' : decoded(part.slice(equals + 1));
    if (name === undefined || value === undefined)
      issues.push({
        param: name === undefined ? '(query)' : describeName(name),
        message: 'malformed percent-encoding (a cut %XX sequence, or bytes that are not UTF-8)',
      });
  }
  return issues;
}

/** Start of the hour or day window containing `timeMs`. */
export function windowStartOf(granularity: 'hour' | 'day', timeMs: number): number {
  const size = granularity === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(timeMs / size) * size;
}

/** Exclusive end of the hour or day window starting at `startMs`. */
export function windowEndOf(granularity: 'hour' | 'day', startMs: number): number {
  return startMs + (granularity === 'hour' ? HOUR_MS : DAY_MS);
}

function parseWith<S extends z.ZodType>(schema: S, search: URLSearchParams): ParamsResult<z.output<S>> {
  const issues: ParamIssue[] = [];
  const values = new Map<string, string>();
  for (const [name, value] of search) {
    if (values.has(name)) issues.push({ param: describeName(name), message: 'given more than once' });
    else values.set(name, value);
  }
  // fromEntries defines own properties, so a parameter named __proto__ is just an unknown key.
  const result = schema.safeParse(Object.fromEntries(values));
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) issues.push({ param: describeName(key), message: 'unknown parameter' });
      } else {
        issues.push({ param: describeName(String(issue.path[0] ?? '(query)')), message: issue.message });
      }
    }
  }
  if (issues.length > 0 || !result.success) return { ok: false, issues };
  return { ok: true, value: result.data };
}

/** A parameter name as it may be echoed back: short and without control characters. */
function describeName(name: string): string {
  const safe = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
  return safe.slice(1, -1);
}
