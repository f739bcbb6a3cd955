import { parse as parseCsv } from 'csv-parse/sync';
import type { DecodeResult } from './click-event.ts';
import { validateClickFields } from './event-schema.ts';
import { invalid } from './invalid-reason.ts';
import { decodeUtf8 } from './utf8.ts';

/** Largest accepted message value, in bytes (64 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Largest accepted message key, in bytes (64 KiB); the key is never an id, but it is carried. */
export const MAX_KEY_BYTES = 64 * 1024;

/** The seeds' CSV shape, in column order. */
const CSV_FIELDS = ['event_id', 'user_id', 'timestamp', 'url', 'country', 'city', 'browser', 'os', 'device'] as const;

/** The parts of a Kafka message the decoder reads. */
export interface ClickMessage {
  value: Buffer | null;
  key: Buffer | null;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Decodes and validates one Kafka message into a `ClickEvent` (contract v2); bad data is
 * returned as a reason and a message naming the field, never thrown.
 *
 * The value must be at most `MAX_MESSAGE_BYTES` of UTF-8 (a leading byte-order mark is
 * ignored) and the key at most `MAX_KEY_BYTES`. A value starting with `{` or `[` is JSON and
 * only JSON; anything else that is not JSON must be one RFC 4180 CSV record of exactly 9 fields
 * (the seeds' CSV shape). The key is never read as the event id: without an event id in the
 * value the id is the click's content fingerprint. `now` is the ingest time that the event time
 * is judged against. Deterministic: the same message and `now` give the same result.
 */
export function decodeClickMessage(message: ClickMessage, now: Date): DecodeResult {
  const { value, key } = message;
  if (value === null || value.length === 0) return invalid('invalid_json', 'message has no value');
  if (value.length > MAX_MESSAGE_BYTES) return invalid('too_large', `value is ${value.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
  if (key !== null && key.length > MAX_KEY_BYTES) return invalid('too_large', `key is ${key.length} bytes, more than ${MAX_KEY_BYTES}`);
  const text = decodeUtf8(value);
  if (text === null) return invalid('invalid_json', 'value is not valid UTF-8');
  const fields = parseFields(text.startsWith('\uFEFF') ? text.slice(1) : text);
  if (typeof fields === 'string') return invalid('invalid_json', fields);
  return validateClickFields(fields, { now });
}

/** The value's fields, or why there are none. */
function parseFields(text: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // A value that opens like JSON is broken JSON, never CSV (its commas are no columns).
    if (/^\s*[{[]/.test(text)) return `value is not valid JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'parse error'}`;
    return parseCsvLine(text);
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  return `value is JSON ${Array.isArray(parsed) ? 'array' : parsed === null ? 'null' : typeof parsed}, not an object`;
}

function parseCsvLine(text: string): Record<string, unknown> | string {
  let records: string[][];
  try {
    records = parseCsv(text, { trim: true, skip_empty_lines: true, relax_column_count: true });
  } catch (err) {
    return `value is neither JSON nor a CSV line (${err instanceof Error ? err.message.slice(0, 200) : 'parse error'})`;
  }
  const [cells, ...more] = records;
  if (cells === undefined || more.length > 0) return `value is neither JSON nor one CSV line (${records.length} lines)`;
  if (cells.length !== CSV_FIELDS.length) return `value is neither JSON nor a 9-field CSV line (${cells.length} fields)`;
  return Object.fromEntries(CSV_FIELDS.map((field, index) => [field, cells[index]]));
}
