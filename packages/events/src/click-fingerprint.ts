import { createHash } from 'node:crypto';

/** Prefix of every fingerprint id, so it reads as one and never looks like a producer's id. */
export const FINGERPRINT_PREFIX = 'fp-';

/**
 * The event id of a click sent without one: `fp-` + the lower-case hex SHA-256 of the UTF-8
 * bytes of the canonical form, the JSON array (as `JSON.stringify` writes it: no white space)
 * `[user_id, epoch_ms, url]`, with `session_id` appended as a fourth element when the click has
 * one. `epoch_ms` is the event time as an integer of milliseconds (so an ISO time and the same
 * instant in epoch ms give the same id) and `url` is the URL as stored (credentials removed).
 * Deterministic: the same click sent twice gets the same id; clicks differing in any of those
 * parts get different ids. Never depends on the Kafka key, partition or offset.
 */
export function clickFingerprint(click: { userId: string; eventTimeMs: number; url: string; sessionId: string | null }): string {
  const parts: (string | number)[] = [click.userId, click.eventTimeMs, click.url];
  if (click.sessionId !== null) parts.push(click.sessionId);
  return FINGERPRINT_PREFIX + createHash('sha256').update(JSON.stringify(parts), 'utf8').digest('hex');
}
