export type { ClickEvent, DecodeResult, EnrichedClick, HintName } from './click-event.ts';
export { clickFingerprint } from './click-fingerprint.ts';
export {
  buildDeadLetter,
  DEAD_LETTER_KEY_MAX_BYTES,
  DEAD_LETTER_MAX_MESSAGE_BYTES,
  DEAD_LETTER_VALUE_MAX_BYTES,
  deadLetterKey,
  serializeDeadLetter,
  type DeadLetterRecord,
} from './dead-letter.ts';
export { decodeClickMessage, MAX_KEY_BYTES, MAX_MESSAGE_BYTES, type ClickMessage } from './decode-message.ts';
export { INVALID_REASONS, type InvalidReason } from './invalid-reason.ts';
export { MAX_FUTURE_MS } from './event-time.ts';
export { toUrlKey } from './url-key.ts';
