/**
 * Every machine-readable reason an event can be rejected for; it is the `reason` of a
 * dead-letter record. `invalid_value` covers rule violations that are not about type
 * (a string too long, a number out of range, a control character, a blank identifier).
 * `store_rejected` is given by the ingest runtime when the store refuses a row for its content.
 */
export const INVALID_REASONS = [
  'invalid_json',
  'missing_field',
  'invalid_type',
  'invalid_value',
  'invalid_url',
  'invalid_ip',
  'invalid_timestamp',
  'timestamp_out_of_range',
  'timestamp_in_future',
  'too_large',
  'store_rejected',
] as const;

export type InvalidReason = (typeof INVALID_REASONS)[number];

/** A rejected message: why (machine-readable) and a human message naming the field. */
export interface Invalid {
  ok: false;
  reason: InvalidReason;
  message: string;
}

/** The result for a message rejected for `reason`. */
export function invalid(reason: InvalidReason, message: string): Invalid {
  return { ok: false, reason, message };
}
