export type { ClickEvent, DecodeResult, EnrichedClick } from './click-event.ts';
export { buildDeadLetter, serializeDeadLetter, type DeadLetterRecord } from './dead-letter.ts';
export { decodeClickMessage, MAX_MESSAGE_BYTES, type ClickMessage } from './decode-message.ts';
export { INVALID_REASONS, type InvalidReason } from './invalid-reason.ts';
export { toUrlKey } from './url-key.ts';
