import { isIP } from 'node:net';
import { z } from 'zod';
import type { DecodeResult } from './click-event.ts';
import { parseEventTime } from './event-time.ts';
import { invalid, type InvalidReason } from './invalid-reason.ts';
import { toUrlKey } from './url-key.ts';

const MAX_TIME_SPENT_MS = 86_400_000;
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

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

const clickFieldsSchema = z.object({
  event_id: z.string().max(128).optional(),
  user_id: z.string().max(256),
  timestamp: z.union([z.number(), z.string()], { error: 'expected an ISO-8601 string or epoch milliseconds' }).transform((value, ctx) => {
    const eventTime = parseEventTime(value);
    if (eventTime === null)
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an ISO-8601 time or epoch milliseconds` });
    return eventTime ?? z.NEVER;
  }),
  url: z
    .string()
    .max(2048)
    .transform((url, ctx) => {
      const urlKey = toUrlKey(url);
      if (urlKey === null)
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(url)} is not an absolute http(s) URL or a path starting with /` });
      return urlKey === null ? z.NEVER : { url, urlKey };
    }),
  session_id: z.string().max(256).optional(),
  ip: z
    .string()
    .refine((ip) => isIP(ip) !== 0, 'expected an IPv4 or IPv6 literal')
    .optional(),
  user_agent: z.string().max(2048).optional(),
  referrer: z.string().max(2048).optional(),
  time_spent_ms: z.int().min(0).max(MAX_TIME_SPENT_MS).optional(),
  // Seconds; the range guarantees the rounded milliseconds stay within 0..MAX_TIME_SPENT_MS.
  time_spent: z
    .number()
    .min(0)
    .max(MAX_TIME_SPENT_MS / 1000)
    .optional(),
  country: z
    .string()
    .transform((country) => (/^[a-z]{2}$/i.test(country) ? country.toUpperCase() : country))
    .optional(),
  region: z.string().optional(),
  city: z.string().optional(),
  browser: z.string().optional(),
  os: z.string().optional(),
  device: z.string().optional(),
});

/**
 * Validates a decoded message value (a JSON object or CSV cells) against the event contract.
 *
 * Aliases are mapped to contract names; null and empty-string values count as absent; unknown
 * fields are ignored. `fallbackEventId` is used when the value has no event id. A timestamp more
 * than 24 h after `now` is `timestamp_in_future`. Never throws for bad data.
 */
export function validateClickFields(
  value: Readonly<Record<string, unknown>>,
  context: { now: Date; fallbackEventId: string },
): DecodeResult {
  const fields = canonicalise(value);
  const parsed = clickFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => describeIssue(issue, fields));
    return invalid(issues[0]?.reason ?? 'invalid_type', issues.map((issue) => issue.message).join('; '));
  }
  const f = parsed.data;
  if (f.timestamp.getTime() - context.now.getTime() > MAX_FUTURE_MS) {
    return invalid(
      'timestamp_in_future',
      `timestamp ${f.timestamp.toISOString()} is more than 24 h after ingest time ${context.now.toISOString()}`,
    );
  }
  return {
    ok: true,
    event: {
      eventId: f.event_id ?? context.fallbackEventId,
      userId: f.user_id,
      sessionId: f.session_id ?? null,
      eventTime: f.timestamp,
      url: f.url.url,
      urlKey: f.url.urlKey,
      ip: f.ip ?? null,
      userAgent: f.user_agent ?? null,
      referrer: f.referrer ?? null,
      timeSpentMs: f.time_spent_ms ?? (f.time_spent === undefined ? null : Math.round(f.time_spent * 1000)),
      country: f.country ?? null,
      region: f.region ?? null,
      city: f.city ?? null,
      browser: f.browser ?? null,
      os: f.os ?? null,
      device: f.device ?? null,
    },
  };
}

function canonicalise(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, aliases] of Object.entries(FIELD_ALIASES)) {
    const source = [field, ...aliases].find((name) => Object.hasOwn(value, name) && value[name] !== null && value[name] !== '');
    // time_spent is in seconds: it keeps its own name so the schema checks and converts that unit.
    if (source !== undefined) fields[source === 'time_spent' ? source : field] = value[source];
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
