import { isIP } from 'node:net';
import { z } from 'zod';
import type { DecodeResult, HintName } from './click-event.ts';
import { clickFingerprint } from './click-fingerprint.ts';
import { toCountryCode } from './country-hint.ts';
import { checkEventTime, parseEventTime } from './event-time.ts';
import { invalid, type InvalidReason } from './invalid-reason.ts';
import { codePointLength, hasControlCharacter, textProblem } from './text-rules.ts';
import { stripCredentials, toUrlKey } from './url-key.ts';

const MAX_TIME_SPENT_MS = 86_400_000;

/** Longest pre-enriched city, region, browser, os or device kept; longer ones are ignored. */
export const MAX_HINT_CHARS = 128;

/** Contract field -> other names producers use for it; the contract name wins when both are sent. */
const FIELD_ALIASES: Readonly<Record<string, readonly string[]>> = {
  event_id: ['click_id', 'row_key'],
  user_id: ['UserID'],
  timestamp: ['Timestamp', 'event_time'],
  url: ['URL', 'page_url'],
  session_id: [],
  ip: ['ip_address'],
  user_agent: ['ua'],
  referrer: ['referer'],
  time_spent_ms: ['time_spent'],
  country: [],
  region: [],
  city: [],
  browser: [],
  os: ['operating_system'],
  device: [],
};

// Only reasons that depend on the field; other issues map by their zod code.
const FIELD_REASONS: Readonly<Record<string, InvalidReason>> = {
  url: 'invalid_url',
  ip: 'invalid_ip',
  timestamp: 'invalid_timestamp',
};

/** A string of 1..maxChars characters, no control character, not blank (`invalid_value`). */
const identifier = (maxChars: number) =>
  z.string().superRefine((text, ctx) => {
    const problem = textProblem(text, maxChars);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Free text of at most maxChars characters; a lone surrogate becomes U+FFFD (as the store would). */
const freeText = (maxChars: number) =>
  z
    .string()
    .refine((text) => text.length <= maxChars || codePointLength(text) <= maxChars, `has more than ${maxChars} characters`)
    .transform((text) => text.toWellFormed());

const clickFieldsSchema = z.object({
  event_id: identifier(128).optional(),
  user_id: identifier(256),
  timestamp: z.union([z.number(), z.string()], { error: 'expected an ISO-8601 string or epoch milliseconds' }).transform((value, ctx) => {
    const eventTimeMs = parseEventTime(value);
    if (eventTimeMs === null)
      ctx.addIssue({ code: 'custom', message: `${quote(value)} is not an ISO-8601 time or integer epoch milliseconds` });
    return eventTimeMs ?? z.NEVER;
  }),
  url: z.string().transform((raw, ctx) => {
    const problem = textProblem(raw, 2048);
    const urlKey = problem === null ? toUrlKey(raw) : null;
    if (urlKey === null)
      ctx.addIssue({ code: 'custom', message: problem ?? `${quote(raw)} is not an absolute http(s) URL or a path starting with /` });
    return urlKey === null ? z.NEVER : { url: stripCredentials(raw), urlKey };
  }),
  session_id: identifier(256).optional(),
  ip: z
    .string()
    .refine((ip) => !ip.includes('%'), 'an IPv6 zone id (%...) is not accepted')
    .refine((ip) => isIP(ip) !== 0, 'expected an IPv4 or IPv6 literal')
    .optional(),
  user_agent: freeText(2048).optional(),
  referrer: freeText(2048).optional(),
  time_spent_ms: z.int().min(0).max(MAX_TIME_SPENT_MS).optional(),
  // Seconds; the range guarantees the rounded milliseconds stay within 0..MAX_TIME_SPENT_MS.
  time_spent: z
    .number()
    .min(0)
    .max(MAX_TIME_SPENT_MS / 1000)
    .optional(),
});

const HINT_FIELDS = ['country', 'region', 'city', 'browser', 'os', 'device'] as const satisfies readonly HintName[];

/**
 * Validates a decoded message value (a JSON object or CSV cells) against the event contract v2.
 *
 * Aliases are mapped to contract names; null and empty-string values count as absent; unknown
 * fields are ignored. Without an event id the id is `clickFingerprint` of the click's content.
 * Event times outside [2000-01-01Z, `now` + 24 h] are `timestamp_out_of_range` /
 * `timestamp_in_future`. Pre-enriched hints (`country`, `region`, `city`, `browser`, `os`,
 * `device`) never reject a click: an unsound one is left out and named in `ignoredHints`.
 * Never throws for bad data.
 */
export function validateClickFields(value: Readonly<Record<string, unknown>>, context: { now: Date }): DecodeResult {
  const fields = canonicalise(value);
  const parsed = clickFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => describeIssue(issue, fields));
    return invalid(issues[0]?.reason ?? 'invalid_type', issues.map((issue) => issue.message).join('; '));
  }
  const f = parsed.data;
  const time = checkEventTime(f.timestamp, context.now);
  if (!time.ok) return time;
  const hints = readHints(fields);
  const sessionId = f.session_id ?? null;
  return {
    ok: true,
    event: {
      eventId: f.event_id ?? clickFingerprint({ userId: f.user_id, eventTimeMs: f.timestamp, url: f.url.url, sessionId }),
      userId: f.user_id,
      sessionId,
      eventTime: time.eventTime,
      url: f.url.url,
      urlKey: f.url.urlKey,
      ip: f.ip ?? null,
      userAgent: f.user_agent ?? null,
      referrer: f.referrer ?? null,
      timeSpentMs: timeSpentMs(f.time_spent_ms, f.time_spent),
      ...hints.values,
    },
    ignoredHints: hints.ignored,
  };
}

/** Milliseconds spent, the contract field winning over seconds; `+ 0` turns a JSON `-0` into 0. */
function timeSpentMs(ms: number | undefined, seconds: number | undefined): number | null {
  if (ms !== undefined) return ms + 0;
  return seconds === undefined ? null : Math.round(seconds * 1000) + 0;
}

/** The sound hints, and the names of those sent but ignored. */
function readHints(fields: Readonly<Record<string, unknown>>): { values: Record<HintName, string | null>; ignored: HintName[] } {
  const values: Record<HintName, string | null> = { country: null, region: null, city: null, browser: null, os: null, device: null };
  const ignored: HintName[] = [];
  for (const hint of HINT_FIELDS) {
    const raw = fields[hint];
    if (raw === undefined) continue;
    const sound = typeof raw !== 'string' ? null : hint === 'country' ? countryHint(raw) : textHint(raw);
    if (sound === null) ignored.push(hint);
    else if (sound !== UNKNOWN) values[hint] = sound;
  }
  return { values, ignored };
}

/** A hint that says "unknown" on purpose: neither used nor counted as ignored. */
const UNKNOWN = Symbol('unknown');

function countryHint(raw: string): string | typeof UNKNOWN | null {
  if (raw.trim().toUpperCase() === 'ZZ') return UNKNOWN;
  return toCountryCode(raw);
}

function textHint(raw: string): string | null {
  if (raw.length > MAX_HINT_CHARS && codePointLength(raw) > MAX_HINT_CHARS) return null;
  if (hasControlCharacter(raw) || raw.trim() === '' || !raw.isWellFormed()) return null;
  return raw;
}

/** Contract field -> every name it is read from, the contract name first (built once: this runs per message). */
const FIELD_SOURCES: readonly (readonly [string, readonly string[]])[] = Object.entries(FIELD_ALIASES).map(([field, aliases]) => [
  field,
  [field, ...aliases],
]);

function canonicalise(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, names] of FIELD_SOURCES) {
    for (const name of names) {
      if (!Object.hasOwn(value, name)) continue;
      const sent = value[name];
      if (sent === null || sent === '') continue;
      // time_spent is in seconds: it keeps its own name so the schema checks and converts that unit.
      fields[name === 'time_spent' ? name : field] = sent;
      break;
    }
  }
  return fields;
}

function describeIssue(issue: z.core.$ZodIssue, fields: Readonly<Record<string, unknown>>): { reason: InvalidReason; message: string } {
  const field = String(issue.path[0]);
  if (fields[field] === undefined) {
    return {
      reason: 'missing_field',
      message: `${field} is missing (accepted names: ${[field, ...(FIELD_ALIASES[field] ?? [])].join(', ')})`,
    };
  }
  const isTypeIssue = issue.code === 'invalid_type' || issue.code === 'invalid_union';
  return { reason: isTypeIssue ? 'invalid_type' : (FIELD_REASONS[field] ?? 'invalid_value'), message: `${field}: ${issue.message}` };
}

/** A value for a message: JSON-quoted and cut, so a dead letter's message stays short. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
