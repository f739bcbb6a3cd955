import { createHash } from 'node:crypto';
import type { InvalidReason } from './invalid-reason.ts';
import { decodeUtf8 } from './utf8.ts';

/**
 * Most bytes of the original value a dead-letter record carries (64 KiB, the largest value
 * ingest accepts): a longer value is cut to this, at a UTF-8 character boundary when it is text.
 */
export const DEAD_LETTER_VALUE_MAX_BYTES = 64 * 1024;

/** Most bytes of the original key a dead-letter message carries (1 KiB); a longer key is cut to this. */
export const DEAD_LETTER_KEY_MAX_BYTES = 1024;

/** Most characters of the human message a dead-letter record carries. */
export const DEAD_LETTER_MESSAGE_MAX_CHARS = 1024;

/**
 * Upper bound of one dead-letter message on the wire: serialised record (the carried value
 * escaped by JSON at worst 6 bytes per byte), key and headers. Size the dead-letter topic's
 * `max.message.bytes` (and the producer's limits) at or above this; Kafka's default 1 MB is.
 */
export const DEAD_LETTER_MAX_MESSAGE_BYTES = 512 * 1024;

/** An invalid message as sent to the dead-letter topic. */
export interface DeadLetterRecord {
  /** The original value (cut to `DEAD_LETTER_VALUE_MAX_BYTES`): text when valid UTF-8, else base64; null when the message had none. */
  value: string | null;
  encoding: 'utf8' | 'base64';
  /** True when `value` holds only the first `DEAD_LETTER_VALUE_MAX_BYTES` bytes of the original. */
  valueTruncated: boolean;
  /** Byte length of the original value (null when there was none). */
  valueBytes: number | null;
  /** Lower-case hex SHA-256 of the whole original value (null when there was none). */
  valueSha256: string | null;
  /** True when the message's key was cut to `DEAD_LETTER_KEY_MAX_BYTES`. */
  keyTruncated: boolean;
  keyBytes: number | null;
  keySha256: string | null;
  topic: string;
  partition: number;
  offset: string;
  reason: InvalidReason;
  message: string;
  failedAt: Date;
}

/**
 * Builds the dead-letter record of a message rejected for `reason` at `at`. The value is kept
 * byte-exact when it fits `DEAD_LETTER_VALUE_MAX_BYTES`, else cut, with its length and SHA-256
 * so the record can be matched to its source; the message is cut to
 * `DEAD_LETTER_MESSAGE_MAX_CHARS`. The serialised record never exceeds
 * `DEAD_LETTER_MAX_MESSAGE_BYTES` minus the key and headers, whatever the input.
 */
export function buildDeadLetter(input: {
  value: Buffer | null;
  key?: Buffer | null;
  topic: string;
  partition: number;
  offset: string;
  reason: InvalidReason;
  message: string;
  at: Date;
}): DeadLetterRecord {
  const { value, key = null, at, message, topic, partition, offset, reason } = input;
  const carried = value === null ? null : cutUtf8(value, DEAD_LETTER_VALUE_MAX_BYTES);
  const text = carried === null ? null : decodeUtf8(carried);
  return {
    value: carried === null ? null : (text ?? carried.toString('base64')),
    encoding: carried !== null && text === null ? 'base64' : 'utf8',
    valueTruncated: value !== null && carried !== null && carried.length < value.length,
    valueBytes: value?.length ?? null,
    valueSha256: value === null ? null : sha256(value),
    keyTruncated: key !== null && key.length > DEAD_LETTER_KEY_MAX_BYTES,
    keyBytes: key?.length ?? null,
    keySha256: key === null ? null : sha256(key),
    topic: topic.slice(0, 255),
    partition,
    offset: offset.slice(0, 32),
    reason,
    message: message.length > DEAD_LETTER_MESSAGE_MAX_CHARS ? `${message.slice(0, DEAD_LETTER_MESSAGE_MAX_CHARS)}...` : message,
    failedAt: at,
  };
}

/** The key a dead-letter message is sent with: the original, cut to `DEAD_LETTER_KEY_MAX_BYTES`. */
export function deadLetterKey(key: Buffer | null): Buffer | null {
  return key === null || key.length <= DEAD_LETTER_KEY_MAX_BYTES ? key : key.subarray(0, DEAD_LETTER_KEY_MAX_BYTES);
}

/**
 * The dead-letter message value: JSON with snake_case keys `value`, `encoding`,
 * `value_truncated`, `value_bytes`, `value_sha256`, `key_truncated`, `key_bytes`, `key_sha256`,
 * `source_topic`, `source_partition`, `source_offset`, `reason`, `message` and `failed_at`
 * (ISO-8601, UTC).
 */
export function serializeDeadLetter(record: DeadLetterRecord): string {
  return JSON.stringify({
    value: record.value,
    encoding: record.encoding,
    value_truncated: record.valueTruncated,
    value_bytes: record.valueBytes,
    value_sha256: record.valueSha256,
    key_truncated: record.keyTruncated,
    key_bytes: record.keyBytes,
    key_sha256: record.keySha256,
    source_topic: record.topic,
    source_partition: record.partition,
    source_offset: record.offset,
    reason: record.reason,
    message: record.message,
    failed_at: record.failedAt.toISOString(),
  });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The first `maxBytes` bytes of `bytes`, moved back to a UTF-8 character boundary (at most 3
 * bytes) so that a cut text stays text; the whole buffer when it fits.
 */
function cutUtf8(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  // 0b10xxxxxx is a continuation byte: the character it belongs to started before `end`.
  while (end > maxBytes - 3 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end);
}
