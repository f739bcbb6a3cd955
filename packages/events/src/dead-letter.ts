import type { InvalidReason } from './invalid-reason.ts';
import { decodeUtf8 } from './utf8.ts';

/** An invalid message as sent to the dead-letter topic. */
export interface DeadLetterRecord {
  /** The original value: its text when valid UTF-8, else base64; null when the message had none. */
  value: string | null;
  encoding: 'utf8' | 'base64';
  topic: string;
  partition: number;
  offset: string;
  reason: InvalidReason;
  message: string;
  failedAt: Date;
}

/** Builds the dead-letter record of a message rejected for `reason` at `at`; keeps the value byte-exact. */
export function buildDeadLetter(input: {
  value: Buffer | null;
  topic: string;
  partition: number;
  offset: string;
  reason: InvalidReason;
  message: string;
  at: Date;
}): DeadLetterRecord {
  const { value, at, ...rest } = input;
  const text = value === null ? null : decodeUtf8(value);
  if (value !== null && text === null) return { ...rest, value: value.toString('base64'), encoding: 'base64', failedAt: at };
  return { ...rest, value: text, encoding: 'utf8', failedAt: at };
}

/**
 * The dead-letter message value: JSON with snake_case keys `value`, `encoding`, `source_topic`,
 * `source_partition`, `source_offset`, `reason`, `message` and `failed_at` (ISO-8601, UTC).
 */
export function serializeDeadLetter(record: DeadLetterRecord): string {
  return JSON.stringify({
    value: record.value,
    encoding: record.encoding,
    source_topic: record.topic,
    source_partition: record.partition,
    source_offset: record.offset,
    reason: record.reason,
    message: record.message,
    failed_at: record.failedAt.toISOString(),
  });
}
