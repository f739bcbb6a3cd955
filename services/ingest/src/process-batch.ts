import { buildDeadLetter, decodeClickMessage, serializeDeadLetter } from '@clickstream/events';
import type { ClickMessage, EnrichedClick, InvalidReason } from '@clickstream/events';
import type { Enricher } from '@clickstream/enrichment';
import { hoursAffectedBy } from '@clickstream/metrics';

/** A message for the dead-letter topic: the original key, the serialised dead-letter record. */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: string;
  reason: InvalidReason;
  offset: string;
}

/** What one batch of messages turns into, before anything is written. */
export interface ProcessedBatch {
  rows: EnrichedClick[];
  deadLetters: DeadLetterMessage[];
  /** Hours whose metrics these rows can change (see `hoursAffectedBy`); bots change none. */
  affectedHoursMs: number[];
}

/**
 * The pure part of the ingest pipeline: decode -> validate -> enrich for every message of a
 * batch. Never throws for bad data: an invalid message becomes a dead letter with its reason.
 */
export function createBatchProcessor(dependencies: {
  enrich: Enricher;
  now: () => Date;
}): (messages: readonly ClickMessage[]) => ProcessedBatch {
  const { enrich, now } = dependencies;
  return (messages) => {
    const at = now();
    const rows: EnrichedClick[] = [];
    const deadLetters: DeadLetterMessage[] = [];
    const hours = new Set<number>();
    for (const message of messages) {
      const decoded = decodeClickMessage(message, at);
      if (!decoded.ok) {
        const record = buildDeadLetter({ ...message, reason: decoded.reason, message: decoded.message, at });
        deadLetters.push({ key: message.key, value: serializeDeadLetter(record), reason: decoded.reason, offset: message.offset });
        continue;
      }
      const row = enrich(decoded.event, at);
      rows.push(row);
      if (!row.isBot) for (const hour of hoursAffectedBy(row.eventTime.getTime())) hours.add(hour);
    }
    return { rows, deadLetters, affectedHoursMs: [...hours].sort((a, b) => a - b) };
  };
}
