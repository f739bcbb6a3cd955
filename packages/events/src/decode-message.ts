import type { DecodeResult } from './click-event.ts';
import { validateClickFields } from './event-schema.ts';
import { invalid } from './invalid-reason.ts';
import { decodeUtf8 } from './utf8.ts';

/** Largest accepted message value, in bytes (64 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

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
 * Decodes and validates one Kafka message into a `ClickEvent`; bad data is returned as a
 * reason and a message naming the field, never thrown.
 *
 * The value must be at most `MAX_MESSAGE_BYTES` of UTF-8: a JSON object, or else exactly 9
 * comma-separated fields (the seeds' CSV shape). Without an event id in the value, the id is the
 * message key (UTF-8), else `<topic>:<partition>:<offset>`, so a replayed message keeps its id.
 * `now` is the ingest time that future timestamps are judged against. Deterministic: the same
 * message and `now` give the same result.
 */
export function decodeClickMessage(message: ClickMessage, now: Date): DecodeResult {
  const { value, key, topic, partition, offset } = message;
  if (value === null || value.length === 0) return invalid('invalid_json', 'message has no value');
  if (value.length > MAX_MESSAGE_BYTES) return invalid('too_large', `value is ${value.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
  const text = decodeUtf8(value);
  if (text === null) return invalid('invalid_json', 'value is not valid UTF-8');
  const fields = parseFields(text);
  if (typeof fields === 'string') return invalid('invalid_json', fields);
  const fallbackEventId = key !== null && key.length > 0 ? key.toString('utf8') : `${topic}:${partition}:${offset}`;
  return validateClickFields(fields, { now, fallbackEventId });
}

/** The value's fields, or why there are none. */
function parseFields(text: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const cells = text.trim().split(',');
    if (cells.length !== CSV_FIELDS.length) return 'value is neither JSON nor a 9-field CSV line';
    return Object.fromEntries(CSV_FIELDS.map((field, index) => [field, cells[index]?.trim()]));
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  return `value is JSON ${Array.isArray(parsed) ? 'array' : parsed === null ? 'null' : typeof parsed}, not an object`;
}
